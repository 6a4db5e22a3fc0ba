// RHEL weak-updates: a kmod rpm built for one kernel of a kABI stream (Requires: kernel-uname-r = REL, installed
// under REL/extra) is linked by weak-modules into every later kernel of the stream whose CRCs satisfy it. Two
// RHEL-layout builds of one stream made of real files (6.1.0-55's as 6.1.192-1.el9, 6.1.0-56's as 6.1.192-2.el9:
// CRC-compatible, different BTF), CONFIG_MODULE_ALLOW_BTF_MISMATCH unset as on RHEL: the kmod fails to load on
// the later kernel, and one alert says so on the kernel it was built for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RELEASES, moduleElf } from '../../support/fixtures.ts';
import { buildRpmKernel, type RealBuild } from '../../support/kernel-builds.ts';
import { buildRpm, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { scanRpmMirror, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('btfwatch-weak-updates-');
let built: RealBuild;
let later: RealBuild;
let mirror: MirrorHandle;
let svc: TestService;

before(async () => {
  const rpms = join(work.path, 'rpms');
  built = await buildRpmKernel(
    { from: RELEASES.bookworm55, version: '6.1.192', release: '1.el9', btfMismatchRefused: true },
    rpms,
  );
  later = await buildRpmKernel(
    { from: RELEASES.bookworm56, version: '6.1.192', release: '2.el9', btfMismatchRefused: true },
    rpms,
  );
  const kmod = await buildRpm(
    {
      name: 'kmod-dummy',
      version: '1.0',
      release: '1.el9',
      requires: [`kernel-uname-r = ${built.release}`],
      files: {
        [`lib/modules/${built.release}/extra/dummy.ko`]: Buffer.from(
          moduleElf(RELEASES.bookworm55, 'dummy.ko'),
        ),
      },
    },
    rpms,
  );
  mirror = await startMirror({ rpm: { packages: [...built.packages, ...later.packages, kmod] } });
  svc = await startTestService('embedded');
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

test(
  'a kmod weak-updates links into a later kernel of its kABI stream: its verdict there, and one alert',
  { timeout: 600_000 },
  async () => {
    const kernels = await scanRpmMirror(svc, mirror);
    const k = kernels.find((x) => x.release === built.release);
    const t = kernels.find((x) => x.release === later.release);
    assert.ok(k && t, `both builds ingested: ${JSON.stringify(kernels.map((x) => x.release))}`);

    // On the later kernel the kmod is read against the wrong base; modversions keep it loadable, RHEL's config
    // makes the rejected BTF a failed load.
    const res = await svc.app.inject({ url: `/v1/compat?kernel=${t.id}&package=kmod-dummy` });
    assert.equal(res.statusCode, 200, res.body);
    const [item] = res.json().items as Array<{
      btf: string;
      abi: string;
      load: string;
      evidence: { kernelLog?: string[] };
    }>;
    assert.ok(item, res.body);
    assert.equal(item.btf, 'rejected', res.body);
    assert.equal(item.abi, 'compatible', res.body);
    assert.equal(item.load, 'fails', res.body);
    // On its own kernel it is fine.
    const own = (await svc.app.inject({ url: `/v1/compat?kernel=${k.id}&package=kmod-dummy` })).json()
      .items as Array<{ btf: string }>;
    assert.deepEqual(
      own.map((i) => i.btf),
      ['identical'],
    );

    const alerts = (await svc.app.inject({ url: '/v1/alerts' })).json().items as Array<{
      kernelId: number;
      cause: string;
      severity: string;
      summary: string;
      affectedModules: number;
      details: { via: string; uploadKernelBuildId: number };
    }>;
    const weak = alerts.filter((a) => a.cause.startsWith('btf_break:weak-updates-'));
    assert.equal(weak.length, 1, JSON.stringify(alerts));
    assert.equal(weak[0]!.kernelId, k.id, 'on the kernel the kmod was built for');
    assert.equal(weak[0]!.cause, `btf_break:weak-updates-${t.id}`);
    assert.equal(weak[0]!.details.via, 'weak-updates');
    assert.equal(weak[0]!.details.uploadKernelBuildId, t.id);
    assert.equal(weak[0]!.severity, 'critical');
    assert.equal(weak[0]!.affectedModules, 1);
    assert.match(
      weak[0]!.summary,
      /^1 out-of-tree module built for 6\.1\.192-1\.el9\.x86_64 \(6\.1\.192-1\.el9\) that weak-updates links into 6\.1\.192-2\.el9\.x86_64 \(6\.1\.192-2\.el9\) breaks there once hosts reboot into it: 1 fails to load/,
    );
    // Different release strings: no in-place alert for the builds' own modules.
    assert.equal(alerts.filter((a) => a.cause.startsWith('btf_break:upload-')).length, 0);
  },
);
