// Ubuntu, Fedora/RHEL, openSUSE and Proxmox mirrors of one real kernel build (test/support/distro-layouts.ts),
// each served on loopback, signed, and scanned end to end in both modes: the scan selects every kernel package
// (Proxmox's without a Contents index), ingest assembles one kernel build per release from its packages, and
// every module is found and identical on its own kernel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Btf } from '@btfwatch/btf';
import { moduleWithFuncName } from '../../support/crafted-module.ts';
import {
  LAYOUTS,
  PVE_OLD,
  SOURCE_RELEASE,
  buildLayout,
  readSourceBuild,
  relabelVermagic,
  type LayoutBuild,
  type SourceBuild,
} from '../../support/distro-layouts.ts';
import { buildsFixture } from '../../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { MODES, authHeader, requestScan, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

type Kernel = {
  id: number;
  distro: string;
  release: string;
  version: string;
  flavour: string | null;
  baseBtfSha256: string | null;
  config: Record<string, boolean> | null;
  exportedSymbols: number | null;
};
type Verdict = {
  module: { name: string; path: string; kernelBuildId: number | null };
  btf: string;
  load: string;
  evidence: { buildBase: { sha256: string; how: string } | null };
};

let work: ReturnType<typeof tempDir>;
let src: SourceBuild;
const builds = new Map<string, LayoutBuild>();

before(async () => {
  work = tempDir('btfwatch-distros-');
  // fs/ and lib/ of the build: 121 real modules, split over two packages where the distribution splits.
  src = readSourceBuild(['fs', 'lib']);
  for (const layout of LAYOUTS) builds.set(layout, await buildLayout(layout, src, `${work.path}/${layout}`));
});

after(() => work?.remove());

async function serve(b: LayoutBuild): Promise<MirrorHandle> {
  if (b.kind === 'rpm') return startMirror({ rpm: { packages: b.packages, compression: 'zstd' } });
  return startMirror({ apt: { suites: { [b.suite]: { packages: b.packages, contents: b.contents } } } });
}

/** `distro` given: as the operator names it; omitted: told by each build's release string. */
async function addMirror(
  svc: TestService,
  b: LayoutBuild,
  mirror: MirrorHandle,
  distro: string | undefined,
): Promise<number> {
  const res = await svc.app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: {
      kind: b.kind,
      url: b.kind === 'rpm' ? mirror.rpmUrl : mirror.aptUrl,
      ...(b.kind === 'apt' ? { suites: [b.suite] } : {}),
      ...(distro ? { distro } : {}),
      keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: number }).id;
}

for (const mode of MODES) {
  const how = mode === 'embedded' ? 'distro given' : 'distro told by the release string';
  test(
    `${mode} (${how}): every distribution layout scanned, ingested and judged on its own kernel`,
    { timeout: 900_000 },
    async () => {
      const mirrors = new Map<string, MirrorHandle>();
      let svc: TestService | undefined;
      try {
        for (const [layout, b] of builds) mirrors.set(layout, await serve(b));
        svc = await startTestService(mode);
        const get = async (url: string) => {
          const res = await svc!.app.inject({ url });
          assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
          return res.json();
        };
        const jobs = new Map<string, string>();
        for (const [layout, b] of builds) {
          const distro = mode === 'embedded' ? b.distro : undefined;
          jobs.set(layout, await requestScan(svc.app, await addMirror(svc, b, mirrors.get(layout)!, distro)));
        }
        await svc.drain();

        const kernels = (await get('/v1/kernels?limit=100')).items as Kernel[];
        for (const [layout, b] of builds) {
          const job = await get(`/v1/jobs/${jobs.get(layout)}`);
          assert.equal(job.state, 'completed', `${layout}: ${JSON.stringify(job)}`);
          const warnings = (job.result.warnings as Array<{ code: string }>).map((w) => w.code);
          if (!b.contents)
            assert.deepEqual(warnings, ['FILE_LIST_MISSING'], `${layout}: ${JSON.stringify(job.result)}`);
          else assert.deepEqual(warnings, [], `${layout}: ${JSON.stringify(job.result.warnings)}`);
          // Every kernel package, and no meta package (linux-image-generic, kernel, proxmox-kernel-6.1) with nothing in it.
          const expected = b.kernelPackages.length + (layout === 'proxmox' ? PVE_OLD.versions.length - 1 : 0);
          assert.equal(job.result.packagesFound, expected, `${layout}: ${JSON.stringify(job.result)}`);

          const mine = kernels.filter((k) => k.distro === b.distro && k.release === b.release);
          assert.deepEqual(
            mine.map((k) => k.version),
            b.versions,
            `${layout}: ${JSON.stringify(kernels)}`,
          );
          const k = mine[0]!;
          assert.equal(k.baseBtfSha256, b.baseBtfSha256, `${layout}: base BTF hash`);
          assert.equal(k.flavour, b.flavour, `${layout}: flavour`);
          assert.equal(k.config?.MODULE_ALLOW_BTF_MISMATCH, b.allowBtfMismatch, `${layout}: config read`);
          if (b.symversSymbols !== null)
            assert.equal(k.exportedSymbols, b.symversSymbols, `${layout}: CRCs read`);

          // Every in-tree module of the build, whichever package and compression it ships in, identical.
          const verdicts = (await get(`/v1/compat?kernel=${k.id}&limit=1000`)).items as Verdict[];
          const inTree = verdicts.filter((v) => v.module.kernelBuildId === k.id);
          assert.deepEqual(inTree.map((v) => v.module.path).sort(), b.modulePaths, `${layout}: modules`);
          for (const v of inTree) {
            assert.equal(v.btf, 'identical', `${layout} ${v.module.path}`);
            assert.equal(v.load, 'loads-with-btf', `${layout} ${v.module.path}`);
          }
          if (b.outOfTree) {
            const oot = (await get(`/v1/compat?kernel=${k.id}&package=${b.outOfTree.name}`))
              .items as Verdict[];
            assert.deepEqual(
              oot.map((v) => [v.module.path, v.module.kernelBuildId, v.btf, v.evidence.buildBase?.sha256]),
              [[b.outOfTree.modulePath, null, 'identical', b.baseBtfSha256]],
              `${layout}: out-of-tree package tied to its kernel by its dependency`,
            );
          }
        }

        // Proxmox's older naming: one release string, two uploads, both found without a Contents index.
        const old = kernels.filter((k) => k.distro === 'proxmox' && k.release === PVE_OLD.release);
        assert.deepEqual(old.map((k) => k.version).sort(), [...PVE_OLD.versions]);

        // Ubuntu leaves MODULE_ALLOW_BTF_MISMATCH unset: a module whose BTF the kernel rejects fails to load
        // there; on Proxmox's config (=y) it loads without BTF. The module is the build's own vfat (its
        // vermagic and CRCs match) with a FUNC name the kernel refuses (a byte >= 0x80).
        const cloudBase = Btf.parse(buildsFixture(`${SOURCE_RELEASE}/vmlinux.btf.xz`));
        const judge = async (layout: string) => {
          const b = builds.get(layout)!;
          const k = kernels.find((x) => x.distro === b.distro && x.release === b.release)!;
          const own = relabelVermagic(src.modules.get('fs/fat/vfat.ko')!, SOURCE_RELEASE, b.release);
          const res = await svc!.app.inject({
            method: 'POST',
            url: `/v1/compat/check?kernel=${k.id}&name=vfat.ko`,
            headers: { 'content-type': 'application/octet-stream' },
            payload: moduleWithFuncName(own, cloudBase, Buffer.from([0x80, 0x66, 0x61, 0x74])),
          });
          assert.equal(res.statusCode, 200, res.body);
          return res.json() as { btf: string; abi: string; load: string; loadReason: string };
        };
        const onUbuntu = await judge('ubuntu');
        assert.deepEqual(
          [onUbuntu.btf, onUbuntu.abi, onUbuntu.load],
          ['rejected', 'compatible', 'fails'],
          onUbuntu.loadReason,
        );
        assert.match(onUbuntu.loadReason, /MODULE_ALLOW_BTF_MISMATCH/);
        const onProxmox = await judge('proxmox');
        assert.deepEqual(
          [onProxmox.btf, onProxmox.abi, onProxmox.load],
          ['rejected', 'compatible', 'loads-without-btf'],
          onProxmox.loadReason,
        );
      } finally {
        await svc?.close();
        for (const m of mirrors.values()) await m.close();
      }
    },
  );
}
