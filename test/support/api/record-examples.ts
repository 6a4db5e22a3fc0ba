/**
 * Brings `btfwatch serve` up on the real fixture data (a loopback apt mirror with two real Debian kernel
 * builds and the headers of a third), calls every operation in openapi.yaml over HTTP, and writes each
 * real response into openapi.yaml as that operation's example (`examples`, named, with the request that
 * produced it as the summary). Error responses shared between operations get theirs under
 * components/responses. Run it with `node --conditions=btfwatch-source --import tsx scripts/openapi-examples.ts`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Scalar, isScalar, parseDocument, visit, type Node } from 'yaml';
import { loadConfig } from '@btfwatch/config';
import { openapiPath, loadOpenapi } from '@btfwatch/api';
import { createLogger, startRuntime, type Runtime } from '@btfwatch/cli';
import { RELEASES, moduleElf, vmlinuxBtf } from '../fixtures.ts';
import { Receiver } from '../receiver.ts';
import { tempDir } from '../services.ts';
import { SHARED_ERROR_STATUS } from './shared-errors.ts';
import { INCOMPLETE_RELEASE, cachedKernelDebs, startTwoBuildMirror } from './scanned-service.ts';

const ADMIN = 'examples-admin-token-0123456789';

interface Recorded {
  /** e.g. `GET /v1/kernels?release=...` */
  request: string;
  status: number;
  contentType: string;
  body: unknown;
}

class Client {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  async call(
    method: string,
    path: string,
    init: { json?: unknown; bytes?: Uint8Array; type?: string; token?: string | null } = {},
  ): Promise<Recorded> {
    const token = init.token === null ? undefined : (init.token ?? this.token);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.bytes !== undefined) {
      headers['content-type'] = init.type ?? 'application/octet-stream';
      body = init.bytes;
    }
    const res = await fetch(new URL(path, this.base), { method, headers, ...(body ? { body } : {}) });
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!;
    const text = await res.text();
    return {
      request: `${method} ${path}`,
      status: res.status,
      contentType,
      body: contentType === 'application/json' ? (JSON.parse(text) as unknown) : text,
    };
  }
}

async function serve(dir: string, env: Record<string, string>): Promise<{ runtime: Runtime; url: string }> {
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    BTFWATCH_SCAN_INTERVAL: '0',
    BTFWATCH_RATE_LIMIT: '0',
    BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1',
    ...env,
  });
  const runtime = await startRuntime(config, 'serve', createLogger(config, 2));
  const address = runtime.app!.server.address();
  assert.ok(address && typeof address === 'object');
  return { runtime, url: `http://127.0.0.1:${address.port}` };
}

/** operationId → named examples; error response component name → example. */
type Examples = Map<string, Map<string, Recorded>>;

function keep(examples: Examples, operationId: string, name: string, r: Recorded, status?: number) {
  if (status !== undefined) assert.equal(r.status, status, `${r.request}: ${JSON.stringify(r.body)}`);
  let byName = examples.get(operationId);
  if (!byName) examples.set(operationId, (byName = new Map()));
  byName.set(name, r);
}

export async function recordExamples(): Promise<{ operations: number; errors: number }> {
  const work = tempDir('btfwatch-examples-');
  const receiver = new Receiver();
  await receiver.start();
  const mirror = await startTwoBuildMirror(work.path, { inPlaceUpload: true });
  const main = await serve(join(work.path, 'main'), { BTFWATCH_ADMIN_TOKEN: ADMIN });
  const strict = await serve(join(work.path, 'strict'), {
    BTFWATCH_RATE_LIMIT: '2',
    BTFWATCH_UPLOAD_LIMIT: '65536',
  });
  const ops: Examples = new Map();
  const errors = new Map<string, Recorded>();
  try {
    const api = new Client(main.url, ADMIN);
    keep(ops, 'getHealth', 'up', await api.call('GET', '/healthz'), 200);
    keep(ops, 'getReady', 'ready', await api.call('GET', '/readyz'), 200);

    const hook = await api.call('POST', '/v1/webhooks', {
      json: {
        url: receiver.url,
        events: ['alert.btf_break', 'kernel.ingested'],
        description: 'fleet alerts',
      },
    });
    keep(ops, 'createWebhook', 'created', hook, 201);
    const hookId = (hook.body as { id: number }).id;

    const mirrorInput = {
      kind: 'apt',
      url: mirror.aptUrl,
      suites: ['bookworm-security'],
      components: ['main'],
      arch: 'amd64',
      match: 'linux-*',
      keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
    };
    const created = await api.call('POST', '/v1/mirrors', { json: mirrorInput });
    keep(ops, 'createMirror', 'created', created, 201);
    const mirrorId = (created.body as { id: number }).id;
    const scan = await api.call('POST', `/v1/mirrors/${mirrorId}/scan`);
    keep(ops, 'scanMirror', 'queued', scan, 202);
    const jobId = (scan.body as { jobId: string }).jobId;
    await main.runtime.idle!();

    keep(ops, 'getJob', 'completed scan', await api.call('GET', `/v1/jobs/${jobId}`), 200);
    keep(ops, 'listJobs', 'scans', await api.call('GET', '/v1/jobs?name=scan-mirror&limit=5'), 200);
    keep(ops, 'listMirrors', 'mirrors', await api.call('GET', '/v1/mirrors'), 200);
    keep(ops, 'getMirror', 'after a scan', await api.call('GET', `/v1/mirrors/${mirrorId}`), 200);
    keep(
      ops,
      'updateMirror',
      'narrowed',
      await api.call('PATCH', `/v1/mirrors/${mirrorId}`, {
        json: { match: ['linux-image-6.1.0-5[56]-amd64', 'linux-headers-*'], scanIntervalSeconds: 3600 },
      }),
      200,
    );

    const kernels = await api.call('GET', '/v1/kernels');
    keep(ops, 'listKernels', 'all', kernels, 200);
    const items = (
      kernels.body as {
        items: Array<{ id: number; release: string; version: string; baseBtfSha256: string }>;
      }
    ).items;
    const build = (r: string, v: string) => items.find((k) => k.release === r && k.version === v)!;
    const [k55, k56, k57] = [
      build(RELEASES.bookworm55, '6.1.192-1'),
      build(RELEASES.bookworm56, '6.1.192-2'),
      build(INCOMPLETE_RELEASE, '6.1.192-3'),
    ];
    keep(
      ops,
      'listKernels',
      'by release and package version',
      await api.call('GET', `/v1/kernels?release=${RELEASES.bookworm56}&version=6.1.192-2`),
      200,
    );
    keep(
      ops,
      'getKernelsByBtf',
      'booted kernel',
      await api.call('GET', `/v1/kernels/by-btf/${k56.baseBtfSha256}`),
      200,
    );
    keep(ops, 'getKernel', 'kernel build', await api.call('GET', `/v1/kernels/${k56.id}`), 200);
    keep(
      ops,
      'getCompat',
      'module built for 55 on 56 (by base BTF hash)',
      await api.call(
        'GET',
        `/v1/compat?kernel=${k56.baseBtfSha256}&package=linux-image-${RELEASES.bookworm55}-unsigned&module=overlay`,
      ),
      200,
    );
    keep(
      ops,
      'getCompat',
      'a package on its own kernel, first page',
      await api.call(
        'GET',
        `/v1/compat?kernel=${k56.id}&package=linux-image-${RELEASES.bookworm56}-unsigned&limit=2`,
      ),
      200,
    );
    keep(
      ops,
      'diffKernels',
      '56 against 55',
      await api.call('GET', `/v1/kernels/${k56.id}/diff/${k55.id}`),
      200,
    );
    keep(
      ops,
      'uploadBaseBtf',
      'a base not seen before (raw /sys/kernel/btf/vmlinux)',
      await api.call('POST', '/v1/btf', { bytes: vmlinuxBtf(RELEASES.trixie) }),
      201,
    );
    const b55 = await cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' });
    execFileSync('dpkg-deb', ['-x', b55.image, join(work.path, 'root55')]);
    keep(
      ops,
      'uploadBaseBtf',
      "a scanned kernel's vmlinuz",
      await api.call('POST', '/v1/btf', {
        bytes: readFileSync(join(work.path, 'root55', 'boot', `vmlinuz-${RELEASES.bookworm55}`)),
      }),
      200,
    );
    keep(
      ops,
      'checkUpload',
      'module built for 55, checked on 56',
      await api.call(
        'POST',
        `/v1/compat/check?kernel=${k56.id}&buildBase=${k55.baseBtfSha256}&name=overlay.ko`,
        {
          bytes: moduleElf(RELEASES.bookworm55, 'overlay.ko'),
        },
      ),
      200,
    );
    const alerts = await api.call('GET', '/v1/alerts');
    keep(ops, 'listAlerts', 'alerts', alerts, 200);
    const alertId = (alerts.body as { items: Array<{ id: number }> }).items[0]!.id;
    keep(ops, 'getAlert', 'alert', await api.call('GET', `/v1/alerts/${alertId}`), 200);
    keep(ops, 'getMatrix', 'matrix', await api.call('GET', '/v1/matrix'), 200);
    keep(
      ops,
      'getCoverage',
      'a build known from its headers only',
      await api.call('GET', '/v1/coverage'),
      200,
    );

    keep(ops, 'listWebhooks', 'webhooks', await api.call('GET', '/v1/webhooks'), 200);
    const ping = await api.call('POST', `/v1/webhooks/${hookId}/ping`);
    keep(ops, 'pingWebhook', 'ping queued', ping, 202);
    await main.runtime.idle!();
    keep(
      ops,
      'listDeliveries',
      'delivered',
      await api.call('GET', `/v1/webhooks/${hookId}/deliveries?limit=2`),
      200,
    );
    const pingId = (ping.body as { id: string }).id;
    keep(
      ops,
      'redeliver',
      'queued again',
      await api.call('POST', `/v1/webhooks/${hookId}/deliveries/${pingId}/redeliver`),
      202,
    );
    await main.runtime.idle!();

    // Errors every client meets, from the same service.
    errors.set('BadRequest', await api.call('GET', '/v1/kernels/by-btf/not-a-hash'));
    errors.set('Unauthorized', await api.call('GET', '/v1/jobs', { token: null }));
    errors.set('NotFound', await api.call('GET', `/v1/compat?kernel=${'0'.repeat(64)}`));
    errors.set('KernelIncomplete', await api.call('GET', `/v1/compat?kernel=${k57.id}`));
    errors.set(
      'UnsupportedMediaType',
      await api.call('POST', `/v1/compat/check?kernel=${k56.id}`, {
        bytes: Buffer.from('<x/>'),
        type: 'text/xml',
      }),
    );
    // And from one with no admin token, a 64 KiB upload limit and 2 requests a minute.
    const other = new Client(strict.url);
    errors.set('Forbidden', await other.call('GET', '/v1/mirrors', { token: ADMIN }));
    errors.set(
      'TooLarge',
      await other.call('POST', '/v1/compat/check?kernel=1', {
        bytes: moduleElf(RELEASES.bookworm55, 'overlay.ko'),
      }),
    );
    errors.set('TooManyRequests', await other.call('GET', '/v1/kernels'));

    keep(ops, 'deleteWebhook', 'removed', await api.call('DELETE', `/v1/webhooks/${hookId}`), 204);
    keep(ops, 'deleteMirror', 'removed', await api.call('DELETE', `/v1/mirrors/${mirrorId}`), 204);
    keep(ops, 'getMetrics', 'scrape', await api.call('GET', '/metrics'), 200);
  } finally {
    await main.runtime.stop();
    await strict.runtime.stop();
    await mirror.close();
    await receiver.stop();
    work.remove();
  }
  for (const [name, r] of errors)
    assert.equal(r.status, SHARED_ERROR_STATUS[name], `${name}: ${JSON.stringify(r.body)}`);
  writeExamples(ops, errors);
  return { operations: ops.size, errors: errors.size };
}

/** Timestamps quoted: YAML 1.1 readers would take them for dates, and the schema says string. */
function exampleNode(node: Node): Node {
  visit(node, {
    Scalar(_key, scalar) {
      if (isScalar(scalar) && typeof scalar.value === 'string' && /^\d{4}-\d\d-\d\d/.test(scalar.value))
        scalar.type = Scalar.QUOTE_SINGLE;
    },
  });
  return node;
}

/** Writes the examples in place, read and written at once so concurrent edits of other parts survive. */
function writeExamples(ops: Examples, errors: Map<string, Recorded>): void {
  const spec = loadOpenapi() as { paths: Record<string, Record<string, { operationId: string }>> };
  const where = new Map<string, [string, string]>();
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item)) where.set(op.operationId, [path, method]);
  const missing = [...where.keys()].filter((id) => !ops.has(id));
  assert.deepEqual(missing, [], 'every documented operation is called');

  const doc = parseDocument(readFileSync(openapiPath, 'utf8'));
  for (const [operationId, byName] of ops) {
    const [path, method] = where.get(operationId)!;
    for (const r of byName.values()) {
      if (r.status === 204) continue; // no body
      const media = ['paths', path, method, 'responses', String(r.status), 'content', r.contentType];
      assert.ok(doc.hasIn(media), `${operationId} ${r.status} ${r.contentType} is declared`);
      doc.deleteIn([...media, 'example']);
      doc.deleteIn([...media, 'examples']);
    }
    for (const [name, r] of byName) {
      if (r.status === 204) continue;
      const media = ['paths', path, method, 'responses', String(r.status), 'content', r.contentType];
      doc.setIn(
        [...media, 'examples', name],
        exampleNode(doc.createNode({ summary: r.request, value: r.body })),
      );
    }
  }
  for (const [name, r] of errors) {
    const media = ['components', 'responses', name, 'content', 'application/json'];
    doc.deleteIn([...media, 'example']);
    doc.setIn(
      [...media, 'examples'],
      exampleNode(doc.createNode({ [name]: { summary: r.request, value: r.body } })),
    );
  }
  writeFileSync(openapiPath, doc.toString({ lineWidth: 0 }));
}
