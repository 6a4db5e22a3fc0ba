// When a kernel build was published, as its repository's index says (apt: the Release `Date:`; rpm: the
// primary metadata's timestamp in repomd.xml), kept from the scan that first listed it; checked against the
// served index files themselves, not against our parsers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELEASES } from '../../support/fixtures.ts';
import { buildFedoraRpms, type RealBuild } from '../../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import {
  addAptMirror,
  addRpmMirror,
  requestScan,
  startTestService,
  type TestService,
} from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';
import { cachedKernelDebs } from '../../support/api/scanned-service.ts';

const work = tempDir('btfwatch-published-');
let fedora: RealBuild;
let mirror: MirrorHandle;
let svc: TestService;

interface Location {
  kind: string;
  suite: string;
  publishedAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** Whole seconds (the Release format's precision), some days back. */
const daysAgo = (days: number) => new Date(Math.floor((Date.now() - days * 86_400_000) / 1000) * 1000);
const FIRST = daysAgo(9);

async function kernelLocations(release: string): Promise<Location[]> {
  const items = (await svc.app.inject({ url: '/v1/kernels?limit=200' })).json().items as Array<{
    id: number;
    release: string;
  }>;
  const k = items.find((x) => x.release === release);
  assert.ok(k, `kernel ${release} ingested: ${items.map((x) => x.release).join(', ')}`);
  return (await svc.app.inject({ url: `/v1/kernels/${k.id}` })).json().locations as Location[];
}

before(async () => {
  const [b55] = await Promise.all([cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' })]);
  fedora = await buildFedoraRpms(join(work.path, 'rpms'));
  mirror = await startMirror({
    apt: {
      suites: {
        'bookworm-security': { packages: [b55.image, b55.headers], date: FIRST, validUntil: null },
      },
    },
    rpm: { packages: fedora.packages },
  });
  svc = await startTestService('embedded');
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

test(
  'apt: the Release date of the scan that first listed the build, kept when later Releases list it again',
  { timeout: 300_000 },
  async () => {
    const first = FIRST;
    const mirrorId = await addAptMirror(svc.app, mirror);
    await requestScan(svc.app, mirrorId);
    await svc.drain();
    const release = readFileSync(join(mirror.root, 'debian/dists/bookworm-security/Release'), 'utf8');
    assert.equal(Date.parse(/^Date: (.*)$/m.exec(release)![1]!), first.getTime(), 'the served Release');
    const [seen] = await kernelLocations(RELEASES.bookworm55);
    assert.equal(seen?.publishedAt, first.toISOString());

    // The suite is published again with another package: the build's packages are listed by a newer Release
    // (and a changed Packages index), but they were published by the first one.
    const b55 = await cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' });
    const b56 = await cachedKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' });
    await mirror.update({
      apt: {
        suites: {
          'bookworm-security': {
            packages: [b55.image, b55.headers, b56.headers],
            date: daysAgo(2),
            validUntil: null,
          },
        },
      },
    });
    await requestScan(svc.app, mirrorId);
    await svc.drain();
    const [again] = await kernelLocations(RELEASES.bookworm55);
    assert.equal(again?.publishedAt, first.toISOString());
    assert.ok(Date.parse(again!.lastSeenAt) > Date.parse(seen!.lastSeenAt), 'listed again');
  },
);

test('rpm: the primary metadata timestamp repomd.xml gives', { timeout: 300_000 }, async () => {
  await requestScan(svc.app, await addRpmMirror(svc.app, mirror));
  await svc.drain();
  const repomd = readFileSync(join(mirror.root, 'rpm/repodata/repomd.xml'), 'utf8');
  const primary = /<data type="primary">[\s\S]*?<timestamp>(\d+)<\/timestamp>/.exec(repomd);
  assert.ok(primary, repomd);
  const [seen] = await kernelLocations(fedora.release);
  assert.equal(seen?.kind, 'rpm');
  assert.equal(seen?.publishedAt, new Date(Number(primary[1]) * 1000).toISOString());
});
