import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The dependency rule (docs/DEVELOPING.md): pure libs do no I/O; libs never reach up into apps; no app imports
// another, except the CLI's composition root (the service runtime and the one-shot scan); routes hold no SQL;
// the CLI's offline commands never load the service stack.
const IO_MODULES = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'http',
  'node:http',
  'https',
  'node:https',
  'http2',
  'node:http2',
  'dns',
  'node:dns',
  'dns/promises',
  'node:dns/promises',
  'dgram',
  'node:dgram',
  'undici',
  'pg',
  '@electric-sql/pglite',
  'drizzle-orm',
  'bullmq',
  'ioredis',
  'fastify',
  '@btfwatch/db',
  '@btfwatch/evaluate',
  '@btfwatch/outbox',
  '@btfwatch/mirror',
  '@btfwatch/pkg',
];
const NET_IO = ['connect', 'createConnection', 'createServer', 'Socket', 'Server'];
const APPS = ['@btfwatch/api', '@btfwatch/worker', '@btfwatch/cli'];
const SERVICE_STACK = [
  'fastify',
  'bullmq',
  'ioredis',
  'pg',
  '@electric-sql/pglite',
  'drizzle-orm',
  '@btfwatch/db',
  '@btfwatch/evaluate',
  '@btfwatch/outbox',
];

const restrict = (names, message, extra = []) => ({
  'no-restricted-imports': [
    'error',
    { paths: [...names.map((name) => ({ name, message })), ...extra], patterns: [] },
  ],
});

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'data/**',
      'test-output/**',
      'migrations/**',
      'test/fixtures/**',
      'apps/api/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['libs/{elf,btf,compat,webhooks,jobs,config}/src/**/*.ts'],
    rules: restrict(IO_MODULES.concat(APPS), 'pure libs do no I/O: bytes and values in, values out', [
      { name: 'net', importNames: NET_IO, message: 'pure libs open no sockets' },
      { name: 'node:net', importNames: NET_IO, message: 'pure libs open no sockets' },
    ]),
  },
  {
    files: ['libs/*/src/**/*.ts'],
    ignores: ['libs/{elf,btf,compat,webhooks,jobs,config}/src/**/*.ts'],
    rules: restrict(APPS, 'libs never import apps'),
  },
  {
    files: ['apps/api/src/**/*.ts'],
    rules: restrict(['@btfwatch/worker', '@btfwatch/cli'], 'no app imports another app'),
  },
  {
    files: ['apps/api/src/routes/**/*.ts'],
    rules: restrict(
      ['@btfwatch/worker', '@btfwatch/cli', 'drizzle-orm', 'pg', '@electric-sql/pglite'],
      'routes do HTTP only: SQL lives in libs/db repositories',
    ),
  },
  {
    files: ['apps/worker/src/**/*.ts'],
    rules: restrict(['@btfwatch/api', '@btfwatch/cli'], 'no app imports another app'),
  },
  {
    files: ['apps/cli/src/**/*.ts'],
    ignores: ['apps/cli/src/service/**', 'apps/cli/src/commands/scan.ts', 'apps/cli/src/index.ts'],
    rules: restrict(
      ['@btfwatch/api', '@btfwatch/worker'].concat(SERVICE_STACK),
      'offline CLI commands never load the service stack (only the composition root, apps/cli/src/service/, does)',
    ),
  },
);
