import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { and, eq, sql } from 'drizzle-orm';
import { buildApp, type BuildOptions } from '@btfwatch/api';
import {
  getPackage,
  insertModuleBuilds,
  markPackage,
  packageLocations,
  queryRows,
  recordSeenPackage,
  selectModuleBuilds,
  upsertVerdicts,
  verdicts,
} from '@btfwatch/db';
import { loadKeyring } from '@btfwatch/mirror';
import { RELEASES, moduleElf, modulePath } from '../../support/fixtures.ts';
import { authHeader } from '../../support/service.ts';
import { startScannedService, type ScannedService } from '../../support/api/scanned-service.ts';

// GET /v1/compat answers kept in memory (ETag, 304, when a change shows), and the API follow-ups that
// need a scanned service: build bases of on-demand and uploaded modules, mirror keyrings, where a kernel
// build was first seen.
let s: ScannedService;
const apps: FastifyInstance[] = [];
before(async () => {
  s = await startScannedService('distributed');
});
after(async () => {
  for (const app of apps) await app.close();
  await s?.close();
});

const PKG55 = 'linux-image-6.1.0-55-amd64-unsigned';
const PKG56 = 'linux-image-6.1.0-56-amd64-unsigned';
const OCTET = { 'content-type': 'application/octet-stream' };

interface Verdict {
  module: { id: number; name: string; package: string; version: string };
  btf: string;
  explanation: string;
  evidence: { buildBase?: { sha256?: string; how?: string; moduleBuildId?: number } | null };
}
interface Answer {
  items: Verdict[];
  summary: Record<string, number>;
}

/** Another API process on the same database and queue, built with other cache settings. */
async function otherApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, database, queue } = s.svc;
  const app = await buildApp(
    { config, database, queue, logger: pino({ level: 'silent' }), version: 'test' },
    options,
  );
  await app.ready();
  apps.push(app);
  return app;
}

const total = (summary: Record<string, number>) => Object.values(summary).reduce((n, c) => n + c, 0);

test('GET /v1/compat: an ETag per answer, 304 for If-None-Match naming it, the same bytes with or without the cache', async () => {
  const { app } = s.svc;
  const url = `/v1/compat?kernel=${s.k56.id}&package=${PKG55}&limit=5`;
  const first = await app.inject({ url });
  assert.equal(first.statusCode, 200, first.body);
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
  const hits = app.compatCache.responses.hits;
  // The same question put differently: kernel by base BTF hash, defaults spelled out.
  const same = await app.inject({ url: `/v1/compat?kernel=${s.k56.baseBtfSha256}&package=${PKG55}&limit=5` });
  assert.equal(same.body, first.body);
  assert.equal(same.headers.etag, etag);
  for (const res of [first, same])
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(app.compatCache.responses.hits, hits + 1, 'served from the cache');
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const res = await app.inject({ url, headers: { 'if-none-match': inm } });
    assert.equal(res.statusCode, 304, inm);
    assert.equal(res.body, '');
    assert.equal(res.headers.etag, etag);
  }
  const other = await app.inject({ url, headers: { 'if-none-match': '"other"' } });
  assert.equal(other.statusCode, 200);
  assert.equal(other.body, first.body);

  // btf verdicts are a set: order and repeats do not make another answer.
  const a = await app.inject({ url: `/v1/compat?kernel=${s.k56.id}&btf=rejected&btf=identical&limit=3` });
  const b = await app.inject({
    url: `/v1/compat?kernel=${s.k56.id}&btf=identical&btf=rejected&btf=identical&limit=3`,
  });
  assert.equal(a.statusCode, 200, a.body);
  assert.deepEqual([b.body, b.headers.etag], [a.body, a.headers.etag]);

  // Without the cache every answer is computed (and validated): the same bytes, the same ETag, and 304.
  const uncached = await otherApp({ responseCacheBytes: 0 });
  const plain = await uncached.inject({ url });
  assert.deepEqual([plain.statusCode, plain.body, plain.headers.etag], [200, first.body, etag]);
  const notModified = await uncached.inject({ url, headers: { 'if-none-match': etag } });
  assert.deepEqual([notModified.statusCode, notModified.body], [304, '']);
  assert.equal(uncached.compatCache.responses.size.entries, 0);
});

test('GET /v1/compat: a verdict stored through the repository (as a worker does) changes the next answer', async () => {
  const { db } = s.svc.database;
  const url = `/v1/compat?kernel=${s.k56.id}&module=overlay`;
  const fresh = await otherApp({ kernelLookupTtlMs: 0 });
  const before = await s.svc.app.inject({ url });
  const beforeFresh = await fresh.inject({ url });
  assert.equal(before.statusCode, 200, before.body);
  assert.equal(beforeFresh.body, before.body);
  const target = (before.json() as Answer).items.find((v) => v.module.package === PKG55)!;
  assert.equal(target.btf, 'rejected');
  const [row] = await db
    .select()
    .from(verdicts)
    .where(and(eq(verdicts.moduleBuildId, target.module.id), eq(verdicts.kernelBuildId, s.k56.id)));
  assert.ok(row);
  try {
    await upsertVerdicts(db, [{ ...row, evidence: { ...row.evidence, explanation: 'stored by the test' } }]);
    // Kernel lookups not reused: at once.
    const now = await fresh.inject({ url });
    assert.notEqual(now.headers.etag, beforeFresh.headers.etag);
    const changed = (now.json() as Answer).items.find((v) => v.module.id === target.module.id)!;
    assert.equal(changed.explanation, 'stored by the test');
    // The old answer is no longer "not modified".
    const revalidated = await fresh.inject({
      url,
      headers: { 'if-none-match': String(before.headers.etag) },
    });
    assert.equal(revalidated.statusCode, 200);
    // Kernel lookups reused for up to a second (the default): within that second.
    await sleep(1100);
    const later = await s.svc.app.inject({ url });
    assert.equal(later.body, now.body);
    assert.equal(later.headers.etag, now.headers.etag);
  } finally {
    await upsertVerdicts(db, [row]);
  }
});

test('GET /v1/compat: verdicts computed on request show at once in every answer about the kernel', async () => {
  const { app } = s.svc;
  // 55 is the older build: the scan evaluated only its own modules on it.
  const whole = `/v1/compat?kernel=${s.k55.id}&limit=1000`;
  const w1 = (await app.inject({ url: whole })).json() as Answer;
  assert.deepEqual(w1.summary, { identical: 12 });
  const diff = await app.inject({ url: `/v1/kernels/${s.k56.id}/diff/${s.k55.id}?compute=5` });
  assert.equal(diff.statusCode, 200, diff.body);
  const w2 = (await app.inject({ url: whole })).json() as Answer;
  assert.equal(w2.items.length, 17);
  assert.equal(total(w2.summary), 17);
  const selected = await app.inject({ url: `/v1/compat?kernel=${s.k55.id}&package=${PKG56}` });
  assert.equal(selected.statusCode, 200, selected.body);
  assert.equal((selected.json() as Answer).items.length, 12);
  const w3 = (await app.inject({ url: whole })).json() as Answer;
  assert.equal(w3.items.length, 24);
  assert.equal(total(w3.summary), 24);
});

/**
 * A separate module package carrying one of 56's modules, recorded and ingested as a scan and an ingest
 * record one (the module row is 56's, moved under the package). Returns the module build id.
 */
async function recordModulePackage(
  name: string,
  depends: string[],
  release: string,
  moduleName = 'dummy',
): Promise<number> {
  const { db } = s.svc.database;
  const sha = randomBytes(32).toString('hex');
  await recordSeenPackage(
    db,
    {
      sha256: sha,
      format: 'deb',
      name,
      version: '1.0-1',
      arch: 'amd64',
      size: 1,
      role: 'out-of-tree-modules',
      depends,
    },
    {
      mirrorId: s.mirrorId,
      suite: 'bookworm-security',
      url: `${s.mirror.aptUrl}/pool/${name}_1.0-1_amd64.deb`,
    },
  );
  const [from56] = (await selectModuleBuilds(db, { kernelBuildIds: [s.k56.id] })).filter(
    (m) => m.name === moduleName,
  );
  assert.ok(from56);
  const inserted = await insertModuleBuilds(db, [
    {
      packageSha256: sha,
      path: `/lib/modules/${release}/updates/dkms/${moduleName}.ko`,
      name: moduleName,
      release,
      vermagic: from56.vermagic,
      srcversion: from56.srcversion,
      btfSha256: from56.btfSha256,
      btfSize: from56.btfSize,
      hasBtfBase: false,
      importedCrcs: from56.importedCrcs,
      kernelBuildId: null,
    },
  ]);
  assert.equal(inserted, 1);
  await markPackage(db, sha, 'ingested');
  const [row] = await queryRows<{ id: number }>(
    db,
    sql`select id::int from module_builds where package_sha256 = ${sha}`,
  );
  return row!.id;
}

test('GET /v1/compat: a module build added later joins a cached selection', async () => {
  const fresh = await otherApp({ kernelLookupTtlMs: 0 });
  const url = `/v1/compat?kernel=${s.k56.id}&module=dummy`;
  const before = (await fresh.inject({ url })).json() as Answer;
  assert.deepEqual(before.items.map((v) => v.module.package).sort(), [PKG55, PKG56]);
  const id = await recordModulePackage(
    'dummy-modules-extra',
    [`linux-image-${RELEASES.bookworm56}-unsigned (= 6.1.192-2)`],
    RELEASES.bookworm56,
  );
  const after = (await fresh.inject({ url })).json() as Answer;
  assert.deepEqual(
    after.items.map((v) => v.module.id),
    [...before.items.map((v) => v.module.id), id],
  );
});

test('GET /v1/compat: a separate module package gets a build base on request only where validation confirms it', async () => {
  const { app } = s.svc;
  // Declares 56's image (pinned) and carries 56's dummy.ko: validating against 56 confirms the base.
  await recordModulePackage(
    'dummy-modules-right',
    [`linux-image-${RELEASES.bookworm56}-unsigned (= 6.1.192-2)`],
    RELEASES.bookworm56,
  );
  const right = await app.inject({ url: `/v1/compat?kernel=${s.k56.id}&package=dummy-modules-right` });
  assert.equal(right.statusCode, 200, right.body);
  const [r] = (right.json() as Answer).items;
  assert.equal(r!.btf, 'identical');
  assert.equal(r!.evidence.buildBase?.how, 'validated');
  assert.equal(r!.evidence.buildBase?.sha256, s.k56.baseBtfSha256);

  // Declares 55's image but carries 56's overlay.ko, which 55 rejects: no candidate validates, so the
  // base stays unknown and the module is never taken as built on the kernel it names.
  const wrongId = await recordModulePackage(
    'overlay-modules-wrong',
    [`linux-image-${RELEASES.bookworm55}-unsigned (= 6.1.192-1)`],
    RELEASES.bookworm55,
    'overlay',
  );
  const wrong = await app.inject({ url: `/v1/compat?kernel=${s.k55.id}&package=overlay-modules-wrong` });
  assert.equal(wrong.statusCode, 200, wrong.body);
  const [w] = (wrong.json() as Answer).items;
  assert.equal(w!.module.id, wrongId);
  assert.equal(w!.btf, 'rejected');
  assert.equal(w!.evidence.buildBase, null);
  const [stored] = await selectModuleBuilds(s.svc.database.db, { ids: [wrongId] });
  assert.equal(stored!.buildBaseSha256, null);
});

test('GET /v1/compat: a selection without module builds is 404; one past its last page is an empty page', async () => {
  const { app } = s.svc;
  const none = await app.inject({ url: `/v1/compat?kernel=${s.k56.id}&module=no_such_module` });
  assert.equal(none.statusCode, 404, none.body);
  assert.equal(none.json().error, 'NOT_FOUND');
  const past = await app.inject({ url: `/v1/compat?kernel=${s.k56.id}&package=${PKG56}&cursor=999999999` });
  assert.equal(past.statusCode, 200, past.body);
  assert.deepEqual((past.json() as Answer).items, []);
  assert.equal(total((past.json() as Answer).summary), 12);
});

test('GET /v1/compat: the cache keeps to its byte budget, least recently used answers leaving first', async () => {
  const budget = 24 * 1024;
  const small = await otherApp({ responseCacheBytes: budget });
  const ids = (
    (await small.inject({ url: `/v1/compat?kernel=${s.k56.id}&limit=1000` })).json() as Answer
  ).items.map((v) => v.module.id);
  assert.ok(ids.length >= 24);
  const urls = ids.map((id) => `/v1/compat?kernel=${s.k56.id}&limit=1&cursor=${id}`);
  let bytes = 0;
  for (const url of urls) {
    const res = await small.inject({ url });
    assert.equal(res.statusCode, 200, res.body);
    bytes += res.rawPayload.byteLength;
    assert.ok(small.compatCache.responses.size.bytes <= budget);
  }
  assert.ok(bytes > budget, `${bytes} bytes of answers overflow a ${budget} byte cache`);
  const { hits } = small.compatCache.responses;
  await small.inject({ url: urls.at(-1)! });
  assert.equal(small.compatCache.responses.hits, hits + 1, 'the newest answer stays');
  await small.inject({ url: urls[0]! });
  assert.equal(small.compatCache.responses.hits, hits + 1, 'the oldest answer left');
});

test('POST /v1/compat/check without buildBase: a module whose .BTF is a known module build takes that build base', async () => {
  const { app } = s.svc;
  // 55's overlay as it ships (.ko.xz), checked on 56 without naming a base.
  const res = await app.inject({
    method: 'POST',
    url: `/v1/compat/check?kernel=${s.k56.id}`,
    headers: OCTET,
    payload: readFileSync(modulePath(RELEASES.bookworm55, 'overlay.ko')),
  });
  assert.equal(res.statusCode, 200, res.body);
  const v = res.json() as Verdict;
  const [known] = (await selectModuleBuilds(s.svc.database.db, { kernelBuildIds: [s.k55.id] })).filter(
    (m) => m.name === 'overlay',
  );
  assert.equal(v.btf, 'rejected');
  assert.equal(v.evidence.buildBase?.how, 'known-module-build');
  assert.equal(v.evidence.buildBase?.sha256, s.k55.baseBtfSha256);
  assert.equal(v.evidence.buildBase?.moduleBuildId, known!.id);

  // A module no mirror here carried: its base is unknown.
  const unknown = await app.inject({
    method: 'POST',
    url: `/v1/compat/check?kernel=${s.k56.id}`,
    headers: OCTET,
    payload: moduleElf(RELEASES.trixie, 'overlay.ko'),
  });
  assert.equal(unknown.statusCode, 200, unknown.body);
  assert.equal((unknown.json() as Verdict).evidence.buildBase, null);
});

test('POST /v1/mirrors: the keyring is read and stored as the armored public keys it holds; one without a key is 400', async () => {
  const { app, database } = s.svc;
  const armored = readFileSync(s.mirror.key.armoredPublicKeyPath, 'utf8');
  const add = (keyring: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/mirrors',
      headers: authHeader(),
      payload: { kind: 'apt', url: 'http://127.0.0.1:9/debian', suites: ['bookworm'], keyring },
    });
  // Text around the block (as in a README or a mail) is dropped; the key is what is stored.
  const ok = await add(`Archive key of the test mirror:\n\n${armored}\n-- \nsigned off\n`);
  assert.equal(ok.statusCode, 201, ok.body);
  const [row] = await queryRows<{ keyring: string }>(
    database.db,
    sql`select keyring from mirrors where id = ${(ok.json() as { id: number }).id}`,
  );
  assert.match(row!.keyring, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  assert.doesNotMatch(row!.keyring, /signed off/);
  assert.deepEqual((await loadKeyring(row!.keyring)).fingerprints, [s.mirror.key.fingerprint]);

  for (const keyring of [
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n',
    '-----BEGIN PGP PUBLIC KEY BLOCK-----',
  ]) {
    const res = await add(keyring);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error, 'INVALID_KEYRING');
    assert.match(res.json().message, /keyring holds no usable OpenPGP public key/);
  }
});

test('GET /v1/kernels/{id}: locations say when each mirror and suite first listed the build, kept across scans', async () => {
  const { app, database } = s.svc;
  const detail = async () =>
    (await app.inject({ url: `/v1/kernels/${s.k56.id}` })).json() as {
      locations: Array<{ mirrorId: number; firstSeenAt: string; lastSeenAt: string }>;
    };
  const firstSeen = async (mirrorId: number) =>
    (
      await queryRows<{ at: string }>(
        database.db,
        sql`select to_char(min(pl.first_seen_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
              from package_locations pl join kernel_packages kp on kp.package_sha256 = pl.package_sha256
             where kp.kernel_build_id = ${s.k56.id} and pl.mirror_id = ${mirrorId}`,
      )
    )[0]!.at;
  const [one] = (await detail()).locations.filter((l) => l.mirrorId === s.mirrorId);
  assert.ok(one);
  assert.equal(one.firstSeenAt, await firstSeen(s.mirrorId));

  // A later scan listing a package there again (as a changed index makes it) keeps the first sighting.
  const [location] = await database.db
    .select()
    .from(packageLocations)
    .where(eq(packageLocations.mirrorId, s.mirrorId))
    .limit(1);
  const pkg = await getPackage(database.db, location!.packageSha256);
  await recordSeenPackage(database.db, pkg!, {
    mirrorId: s.mirrorId,
    suite: location!.suite,
    url: location!.url,
  });
  const [relisted] = await database.db
    .select()
    .from(packageLocations)
    .where(
      and(
        eq(packageLocations.packageSha256, location!.packageSha256),
        eq(packageLocations.mirrorId, s.mirrorId),
      ),
    );
  assert.deepEqual(relisted!.firstSeenAt, location!.firstSeenAt);
  assert.ok(relisted!.lastSeenAt > location!.lastSeenAt);

  // A second mirror row for the same archive, scanned now: its own first sighting, later than the first's.
  const second = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: {
      kind: 'apt',
      url: s.mirror.aptUrl,
      suites: ['bookworm-security'],
      keyring: readFileSync(s.mirror.key.armoredPublicKeyPath, 'utf8'),
    },
  });
  assert.equal(second.statusCode, 201, second.body);
  const secondId = (second.json() as { id: number }).id;
  const scan = await app.inject({
    method: 'POST',
    url: `/v1/mirrors/${secondId}/scan`,
    headers: authHeader(),
  });
  assert.equal(scan.statusCode, 202, scan.body);
  await s.svc.drain();
  const locations = (await detail()).locations;
  const again = locations.find((l) => l.mirrorId === s.mirrorId)!;
  const other = locations.find((l) => l.mirrorId === secondId)!;
  assert.equal(again.firstSeenAt, one.firstSeenAt, 'kept when a later scan lists it again');
  assert.ok(other.firstSeenAt > one.firstSeenAt, `${other.firstSeenAt} after ${one.firstSeenAt}`);
  assert.equal(other.firstSeenAt, await firstSeen(secondId));
  const rows = await database.db.select().from(packageLocations);
  assert.ok(rows.every((r) => r.firstSeenAt !== null && r.firstSeenAt <= r.lastSeenAt));
});
