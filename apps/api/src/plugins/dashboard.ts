import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** apps/api/dashboard, from both src/plugins (tsx) and dist/plugins (built). */
export const dashboardDir = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * The dashboard talks only to this origin and runs no inline code: nothing it shows (package names,
 * kernel log lines) can execute, and no DOM sink accepts strings (it builds nodes, never HTML).
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    )
    .sort();
}

/** A digest of every asset: their URLs change whenever any of them does, so they can be cached forever. */
function assetVersion(uiDir: string): string {
  const hash = createHash('sha256');
  for (const file of listFiles(uiDir))
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(uiDir, file)));
  return hash.digest('hex').slice(0, 12);
}

/**
 * The dashboard: `GET /` is the page (never cached, so it always names the current assets), `/ui/<version>/*`
 * its ES modules, stylesheet and icon (immutable). Everything comes from this repository; no CDN.
 */
export async function dashboard(app: FastifyInstance): Promise<void> {
  const uiDir = join(dashboardDir, 'ui');
  const version = assetVersion(uiDir);
  const assetBase = `/ui/${version}/`;
  const page = readFileSync(join(dashboardDir, 'index.html'), 'utf8').replaceAll('{{ASSETS}}', assetBase);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', DASHBOARD_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    return payload;
  });

  await app.register(fastifyStatic, {
    root: uiDir,
    prefix: assetBase,
    decorateReply: false,
    index: false,
    list: false,
    immutable: true,
    maxAge: '365d',
    serveDotFiles: false,
  });

  app.get('/', async (_request, reply) => {
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);
  });
}
