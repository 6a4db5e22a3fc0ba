import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RELEASES, btfFixture, btfFixturesDir, repoRoot } from '../fixtures.ts';
import { buildKernelDebs, type KernelBuildSpec } from '../kernel-builds.ts';
import { buildDeb, startMirror, type MirrorHandle } from '../mirror-server/index.ts';
import {
  addAptMirror,
  authHeader,
  requestScan,
  startTestService,
  type Mode,
  type TestService,
} from '../service.ts';
import { tempDir } from '../services.ts';

export interface KernelRef {
  id: number;
  release: string;
  version: string;
  baseBtfSha256: string | null;
}

export interface ScannedService {
  svc: TestService;
  mirror: MirrorHandle;
  mirrorId: number;
  /** The scan job's id. */
  scanJobId: string;
  k55: KernelRef;
  k56: KernelRef;
  /** Known from its headers package only: no vmlinux BTF. */
  k57: KernelRef;
  close(): Promise<void>;
}

export const INCOMPLETE_RELEASE = '6.1.0-57-amd64';

/**
 * Building a kernel's debs (xz with the BCJ filter, dpkg-deb) takes most of a scanned service's start-up.
 * They depend only on the fixtures and the code that builds them, so they are kept under the project's
 * cache directory, keyed by both; a fresh machine builds them once.
 */
export async function cachedKernelDebs(spec: KernelBuildSpec): Promise<{ image: string; headers: string }> {
  const key = createHash('sha256')
    .update(JSON.stringify(spec))
    .update(readFileSync(join(btfFixturesDir, 'MANIFEST')))
    .update(readFileSync(join(repoRoot, 'test/support/kernel-builds.ts')))
    .update(readFileSync(join(repoRoot, 'test/support/mirror-server/packages.ts')))
    .digest('hex')
    .slice(0, 24);
  const root = join(process.env.BTFWATCH_CACHE ?? join(homedir(), '.cache', 'btfwatch'), 'test-debs');
  const dir = join(root, key);
  if (!existsSync(dir)) {
    // Built aside and renamed into place, so concurrent test files never see half a directory.
    const scratch = join(root, `.${key}-${randomBytes(4).toString('hex')}`);
    mkdirSync(scratch, { recursive: true });
    try {
      await buildKernelDebs(spec, scratch);
      try {
        renameSync(scratch, dir);
      } catch (err) {
        if (!existsSync(dir)) throw err;
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const release = spec.release ?? spec.from;
  const file = (name: string) => join(dir, `${name}_${spec.version}_amd64.deb`);
  return { image: file(`linux-image-${release}-unsigned`), headers: file(`linux-headers-${release}`) };
}

/**
 * A loopback apt mirror (bookworm-security) holding two real Debian kernel builds (6.1.0-55 and -56:
 * image + headers) and the headers package of a third build whose image is not on the mirror; with
 * `inPlaceUpload`, also an upload of 56's release made of 55's files.
 */
export async function startTwoBuildMirror(
  workDir: string,
  options: { inPlaceUpload?: boolean } = {},
): Promise<MirrorHandle> {
  const [b55, b56] = await Promise.all([
    cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }),
    cachedKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }),
  ]);
  // An in-place upload of 56 (its release and CRCs, a newer version) built from 55's files: what raises an alert.
  const upload = options.inPlaceUpload
    ? [
        (
          await cachedKernelDebs({
            from: RELEASES.bookworm55,
            release: RELEASES.bookworm56,
            version: '6.1.192-3',
          })
        ).image,
      ]
    : [];
  const headers57 = await buildDeb(
    {
      name: `linux-headers-${INCOMPLETE_RELEASE}`,
      version: '6.1.192-3',
      source: 'linux (6.1.192-3)',
      files: {
        [`usr/src/linux-headers-${INCOMPLETE_RELEASE}/Module.symvers`]: btfFixture(
          `${RELEASES.bookworm56}/Module.symvers.xz`,
        ),
      },
    },
    workDir,
  );
  return startMirror({
    apt: {
      suites: {
        'bookworm-security': {
          packages: [b55.image, b55.headers, b56.image, b56.headers, ...upload, headers57],
        },
      },
    },
  });
}

/**
 * The real service on a loopback apt mirror holding two real Debian kernel builds (6.1.0-55 and -56:
 * image + headers) and the headers package of a third build whose image is not on the mirror, scanned,
 * ingested and evaluated: what an operator has after `POST /v1/mirrors` and a scan.
 */
export async function startScannedService(
  mode: Mode,
  env: Record<string, string> = {},
): Promise<ScannedService> {
  const work = tempDir('btfwatch-api-');
  const mirror = await startTwoBuildMirror(work.path);
  let svc: TestService | undefined;
  try {
    svc = await startTestService(mode, { env });
    const mirrorId = await addAptMirror(svc.app, mirror);
    const scanJobId = await requestScan(svc.app, mirrorId);
    await svc.drain();
    const kernels = (await svc.app.inject({ url: '/v1/kernels', headers: authHeader() })).json()
      .items as KernelRef[];
    const find = (release: string) => {
      const k = kernels.find((x) => x.release === release);
      assert.ok(k, `kernel ${release} ingested: ${JSON.stringify(kernels.map((x) => x.release))}`);
      return k;
    };
    const service = svc;
    return {
      svc,
      mirror,
      mirrorId,
      scanJobId,
      k55: find(RELEASES.bookworm55),
      k56: find(RELEASES.bookworm56),
      k57: find(INCOMPLETE_RELEASE),
      close: async () => {
        await service.close();
        await mirror.close();
        work.remove();
      },
    };
  } catch (err) {
    await svc?.close();
    await mirror.close();
    work.remove();
    throw err;
  }
}
