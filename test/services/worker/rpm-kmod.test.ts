// A separate kmod rpm tied to its kernel only by what the kernel provides (`Requires: kernel-uname-r = REL`,
// the Fedora/RHEL way): its modules live under another release directory and carry another vermagic, so
// only that dependency says which kernel build it matters to and which base its BTF was generated on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { queryRows } from '@btfwatch/db';
import { RELEASES, moduleElf } from '../../support/fixtures.ts';
import { buildFedoraRpms, type RealBuild } from '../../support/kernel-builds.ts';
import { buildRpm, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { scanRpmMirror, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('btfwatch-rpm-kmod-');
let build: RealBuild;
let mirror: MirrorHandle;
let svc: TestService;

/** dummy.ko of the 6.1.0-55 build (what the Fedora-layout kernel is made of), claiming another vermagic. */
function dummyWithForeignVermagic(): Buffer {
  const elf = Buffer.from(moduleElf(RELEASES.bookworm55, 'dummy.ko'));
  const from = Buffer.from(`vermagic=${RELEASES.bookworm55} `);
  const at = elf.indexOf(from);
  assert.ok(at >= 0, 'dummy.ko carries its vermagic in .modinfo');
  elf.write('vermagic=6.1.0-99-amd64 ', at, 'latin1');
  return elf;
}

before(async () => {
  build = await buildFedoraRpms(join(work.path, 'rpms'));
  const kmod = await buildRpm(
    {
      name: 'kmod-dummy',
      version: '1.0',
      release: '1.fc99',
      requires: [`kernel-uname-r = ${build.release}`],
      files: { 'lib/modules/6.1.192-0.fc99.x86_64/extra/dummy.ko': dummyWithForeignVermagic() },
    },
    join(work.path, 'rpms'),
  );
  mirror = await startMirror({ rpm: { packages: [...build.packages, kmod] } });
  svc = await startTestService('embedded');
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

test(
  'a kmod rpm requiring kernel-uname-r = REL is evaluated on that kernel, on the base it names',
  { timeout: 300_000 },
  async () => {
    const kernels = await scanRpmMirror(svc, mirror);
    const kernel = kernels.find((k) => k.release === build.release);
    assert.ok(kernel, `kernel ${build.release} ingested: ${JSON.stringify(kernels.map((k) => k.release))}`);

    const res = await svc.app.inject({ url: `/v1/compat?kernel=${kernel.id}&package=kmod-dummy` });
    assert.equal(res.statusCode, 200, res.body);
    const items = res.json().items as Array<{
      module: { name: string; path: string; kernelBuildId: number | null };
      btf: string;
      evidence: { buildBase: { sha256: string; how: string } | null };
    }>;
    assert.equal(items.length, 1, res.body);
    assert.equal(items[0]!.module.path, '/lib/modules/6.1.192-0.fc99.x86_64/extra/dummy.ko');
    assert.equal(items[0]!.module.kernelBuildId, null);
    assert.equal(items[0]!.btf, 'identical', res.body);
    assert.equal(items[0]!.evidence.buildBase?.sha256, kernel.baseBtfSha256);
    assert.equal(items[0]!.evidence.buildBase?.how, 'validated');

    // The kernel's own evaluation covered it: the verdict was stored by the worker, not computed on demand.
    const [stored] = await queryRows<{ n: number }>(
      svc.database.db,
      sql`select count(*)::int as n from verdicts v join module_builds m on m.id = v.module_build_id
          join packages p on p.sha256 = m.package_sha256
        where p.name = 'kmod-dummy' and v.kernel_build_id = ${kernel.id}`,
    );
    assert.equal(stored?.n, 1);
  },
);
