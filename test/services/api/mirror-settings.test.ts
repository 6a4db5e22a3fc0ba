// Mirror settings over the API (embedded service, loopback mirror): match as apt users write it (a string
// or a list of fnmatch patterns), patterns that can never match refused, PATCH for every setting with
// trust changes explicit (the log lines are checked where the service runs as a process), allowExpired shown wherever insecure is, warnings in GET /v1/jobs/{id}.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageLocations, packages } from '@btfwatch/db';
import { eq } from 'drizzle-orm';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { authHeader, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('bw-mirror-settings-');
let mirror: MirrorHandle;
let svc: TestService;

before(async () => {
  const out = join(work.path, 'debs');
  const debs = [];
  for (const abi of ['54', '55', '56', '57']) {
    // Headers: real-looking Module.symvers, cheap to ingest (no vmlinuz to decompress).
    debs.push(
      await buildDeb(
        {
          name: `linux-headers-6.1.0-${abi}-amd64`,
          version: `6.1.1${abi}-1`,
          files: {
            [`usr/src/linux-headers-6.1.0-${abi}-amd64/Module.symvers`]: `0x0000000${abi.at(-1)}\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n`,
          },
        },
        out,
      ),
    );
  }
  mirror = await startMirror({
    apt: {
      suites: {
        'bookworm-security': { packages: debs },
        frozen: { packages: debs, validUntil: new Date(Date.now() - 86400_000) },
      },
    },
  });
  svc = await startTestService('embedded');
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
  svc.app.inject({ method, url, headers: authHeader(), ...(payload === undefined ? {} : { payload }) });

async function scanned(id: number): Promise<Record<string, unknown>> {
  const scan = await api('POST', `/v1/mirrors/${id}/scan`);
  assert.equal(scan.statusCode, 202, scan.body);
  await svc.drain();
  const job = await api('GET', `/v1/jobs/${(scan.json() as { jobId: string }).jobId}`);
  assert.equal(job.statusCode, 200);
  return job.json() as Record<string, unknown>;
}

async function listedNames(id: number): Promise<string[]> {
  const rows = await svc.database.db
    .selectDistinct({ name: packages.name })
    .from(packages)
    .innerJoin(packageLocations, eq(packageLocations.packageSha256, packages.sha256))
    .where(eq(packageLocations.mirrorId, id));
  return rows.map((r) => r.name).sort();
}

test('match: a bracket pattern finds exactly its two builds; a list; impossible patterns are 400 INVALID_MATCH', async () => {
  const keyring = readFileSync(mirror.key.armoredPublicKeyPath, 'utf8');
  const created = await api('POST', '/v1/mirrors', {
    kind: 'apt',
    url: mirror.aptUrl,
    suites: ['bookworm-security'],
    match: 'linux-headers-6.1.0-5[56]-amd64',
    keyring,
  });
  assert.equal(created.statusCode, 201, created.body);
  const m = created.json() as { id: number; match: string[]; allowExpired: boolean; insecure: boolean };
  assert.deepEqual(m.match, ['linux-headers-6.1.0-5[56]-amd64']);
  assert.equal(m.allowExpired, false);
  const job = await scanned(m.id);
  assert.equal(job.state, 'completed');
  assert.equal((job.result as { packagesFound: number }).packagesFound, 2);
  assert.deepEqual(await listedNames(m.id), ['linux-headers-6.1.0-55-amd64', 'linux-headers-6.1.0-56-amd64']);

  const list = await api('POST', '/v1/mirrors', {
    kind: 'apt',
    url: mirror.aptUrl,
    suites: ['bookworm-security'],
    match: ['linux-headers-6.1.0-54-*', 'linux-headers-6.1.0-57-*', 'zfs-*'],
    keyring,
  });
  assert.equal(list.statusCode, 201, list.body);
  const listJob = await scanned((list.json() as { id: number }).id);
  assert.deepEqual(await listedNames((list.json() as { id: number }).id), [
    'linux-headers-6.1.0-54-amd64',
    'linux-headers-6.1.0-57-amd64',
  ]);
  // The pattern that matched nothing is a warning in GET /v1/jobs/{id} and on the mirror.
  const warnings = (listJob.result as { warnings: Array<{ suite: string; code: string; message: string }> })
    .warnings;
  assert.deepEqual(
    warnings.map((w) => [w.suite, w.code]),
    [['bookworm-security', 'MATCH_NOTHING']],
  );
  assert.match(warnings[0]!.message, /"zfs-\*" matches no package/);
  const shown = (await api('GET', `/v1/mirrors/${(list.json() as { id: number }).id}`)).json() as {
    lastScanWarnings: unknown[];
  };
  assert.deepEqual(shown.lastScanWarnings, warnings);

  for (const match of ['linux-headers-6.1.0-55-amd64,linux-headers-6.1.0-56-amd64', ['linux-[56'], 'a b']) {
    const bad = await api('POST', '/v1/mirrors', { kind: 'apt', url: mirror.aptUrl, suites: ['x'], match });
    assert.equal(bad.statusCode, 400, JSON.stringify(match));
    assert.equal((bad.json() as { error: string }).error, 'INVALID_MATCH');
  }
  const comma = await api('POST', '/v1/mirrors', {
    kind: 'apt',
    url: mirror.aptUrl,
    suites: ['x'],
    match: 'a,b',
  });
  assert.match(
    (comma.json() as { message: string }).message,
    /comma cannot occur in a package name \(give several patterns as a list\)/,
  );
});

test('PATCH: every setting; trust changes must be consistent on their own; allowExpired opens an expired suite', async () => {
  const keyring = readFileSync(mirror.key.armoredPublicKeyPath, 'utf8');
  const created = await api('POST', '/v1/mirrors', {
    kind: 'apt',
    url: mirror.aptUrl,
    suites: ['frozen'],
    match: 'linux-headers-6.1.0-56-*',
    keyring,
  });
  const id = (created.json() as { id: number }).id;
  const refused = await scanned(id);
  assert.equal(refused.state, 'failed');
  assert.match(String(refused.error), /expired .*allowExpired \(CLI --allow-expired\)/);

  const opened = await api('PATCH', `/v1/mirrors/${id}`, { allowExpired: true });
  assert.equal(opened.statusCode, 200, opened.body);
  assert.equal((opened.json() as { allowExpired: boolean }).allowExpired, true);
  const job = await scanned(id);
  assert.equal(job.state, 'completed');
  const result = job.result as {
    warnings: Array<{ code: string }>;
    suites: Array<{ allowExpired: boolean; insecure: boolean }>;
  };
  assert.deepEqual(
    result.warnings.map((w) => w.code),
    ['RELEASE_EXPIRED'],
  );
  assert.deepEqual(result.suites[0] && [result.suites[0].allowExpired, result.suites[0].insecure], [
    true,
    false,
  ]);
  assert.deepEqual(await listedNames(id), ['linux-headers-6.1.0-56-amd64']);

  // Every other setting, in one request; the answer is the mirror as it is now.
  const changed = await api('PATCH', `/v1/mirrors/${id}`, {
    suites: ['bookworm-security', 'frozen'],
    components: ['main'],
    arch: 'amd64',
    distro: 'debian',
    match: ['linux-headers-6.1.0-57-*'],
    scanIntervalSeconds: 3600,
    url: `${mirror.aptUrl}/`,
  });
  assert.equal(changed.statusCode, 200, changed.body);
  const now = changed.json() as Record<string, unknown>;
  assert.deepEqual(now.suites, ['bookworm-security', 'frozen']);
  assert.deepEqual(now.match, ['linux-headers-6.1.0-57-*']);
  assert.equal(now.scanIntervalSeconds, 3600);
  assert.equal(now.url, mirror.aptUrl.replace(/\/+$/, ''));
  await scanned(id);
  assert.deepEqual(await listedNames(id), ['linux-headers-6.1.0-56-amd64', 'linux-headers-6.1.0-57-amd64']);

  // A keyring mirror cannot silently become insecure, nor an insecure one silently trust a keyring.
  const silent = await api('PATCH', `/v1/mirrors/${id}`, { insecure: true });
  assert.equal(silent.statusCode, 400);
  assert.equal((silent.json() as { error: string }).error, 'CONFLICTING_OPTIONS');
  const insecure = await api('PATCH', `/v1/mirrors/${id}`, { insecure: true, keyring: null });
  assert.equal(insecure.statusCode, 200, insecure.body);
  assert.deepEqual(
    [
      (insecure.json() as { insecure: boolean }).insecure,
      (insecure.json() as { hasKeyring: boolean }).hasKeyring,
    ],
    [true, false],
  );
  const keyOnly = await api('PATCH', `/v1/mirrors/${id}`, { keyring });
  assert.equal(keyOnly.statusCode, 400);
  assert.match((keyOnly.json() as { message: string }).message, /insecure: false as well/);
  const back = await api('PATCH', `/v1/mirrors/${id}`, { keyring, insecure: false });
  assert.equal(back.statusCode, 200);
  assert.equal((back.json() as { hasKeyring: boolean }).hasKeyring, true);

  // Refused: unknown fields, an empty patch, the kind, a bad keyring, a missing mirror.
  for (const body of [{}, { kind: 'rpm' }, { nope: 1 }]) {
    assert.equal((await api('PATCH', `/v1/mirrors/${id}`, body)).statusCode, 400, JSON.stringify(body));
  }
  const badKey = await api('PATCH', `/v1/mirrors/${id}`, { keyring: 'not a key', insecure: false });
  assert.equal((badKey.json() as { error: string }).error, 'INVALID_KEYRING');
  assert.equal((await api('PATCH', '/v1/mirrors/999999', { arch: 'arm64' })).statusCode, 404);
});
