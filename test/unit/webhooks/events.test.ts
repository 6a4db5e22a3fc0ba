import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALERT_MODULES_SHOWN, uploadBreakAlert, type AlertCandidate } from '@btfwatch/compat';
import type { Alert, KernelBuild } from '@btfwatch/db';
import { btfBreakEvent } from '@btfwatch/webhooks';

const BASE = 'https://btfwatch.example';

const running = { id: 5, release: '6.1.0-56-amd64', version: '6.1.192-2' };
const upload = {
  id: 6,
  release: '6.1.0-56-amd64',
  version: '6.1.192-3',
  imagePackage: 'linux-image-6.1.0-56-amd64',
};

test('alert.btf_break past the module cap: how many were left out, and complete per-package links on the right kernel', () => {
  // 250 of the upload's modules (two packages) as the running build reads them, and 3 out-of-tree modules
  // built for the running build, as the upload reads them.
  const inTree: AlertCandidate[] = Array.from({ length: 250 }, (_, i) => ({
    moduleBuildId: 1000 + i,
    moduleName: `mod${i}`,
    packageName: i < 180 ? 'linux-image-6.1.0-56-amd64' : 'linux-modules-extra-6.1.0-56-amd64',
    packageVersion: '6.1.192-3',
    kernelBuildId: running.id,
    btf: i % 10 === 0 ? 'corrupt' : 'rejected',
    abi: 'compatible',
    load: 'loads-without-btf',
    kernelLog: i === 1 ? ['BPF: Invalid name', `failed to validate module [mod${i}] BTF: -22`] : [],
  }));
  const outOfTree: AlertCandidate[] = Array.from({ length: 3 }, (_, i) => ({
    moduleBuildId: 5000 + i,
    moduleName: `dkms${i}`,
    packageName: 'acme-dkms-modules',
    packageVersion: '1.0-1',
    kernelBuildId: upload.id,
    btf: 'rejected',
    abi: 'compatible',
    load: 'fails',
    kernelLog: [],
  }));
  const record = uploadBreakAlert(running, upload, inTree, outOfTree)!;
  assert.equal(record.kernelBuildId, running.id, 'stored on the build hosts keep running');
  assert.equal(record.cause, `btf_break:upload-${upload.id}`);
  assert.equal(record.severity, 'critical');
  assert.equal(record.affectedModules, 253);
  assert.match(
    record.summary,
    /^Hosts still running 6\.1\.0-56-amd64 \(6\.1\.192-2\) that install the 6\.1\.192-3 upload of linux-image-6\.1\.0-56-amd64 load its modules until they reboot: 250 modules break there — 25 are read as wrong types without a warning \(corrupt\), 225 load without BTF \(rejected\)\./,
  );
  assert.match(
    record.summary,
    /3 out-of-tree modules built for 6\.1\.192-2 break on 6\.1\.192-3: 3 fail to load \(BTF rejected\)\.$/,
  );
  const alert = { id: 9, kind: 'btf_break', createdAt: new Date('2026-11-25T00:00:00Z'), ...record } as Alert;
  const kernel = {
    ...running,
    distro: 'debian',
    arch: 'amd64',
    flavour: 'amd64',
    baseBtfSha256: 'a',
  } as KernelBuild;
  const up = {
    ...upload,
    distro: 'debian',
    arch: 'amd64',
    flavour: 'amd64',
    baseBtfSha256: 'b',
  } as KernelBuild;
  const event = btfBreakEvent(alert, kernel, up, BASE) as {
    upload: { id: number; links: { api: string } };
    inTree: { affectedModules: number; counts: Record<string, number> };
    outOfTree: { affectedModules: number; loads: Record<string, number> };
    firstLog: string[];
    modules: Array<{ id: number; abi: string; links: { dashboard: string } }>;
    modulesOmitted: number;
    packages: Array<{ name: string; affectedModules: number; links: { api: string; dashboard: string } }>;
  };
  assert.equal(event.upload.id, upload.id);
  assert.equal(event.upload.links.api, `${BASE}/v1/kernels/6`);
  assert.deepEqual(event.inTree.counts, { corrupt: 25, rejected: 225 });
  assert.deepEqual(event.outOfTree.loads, { fails: 3 });
  assert.deepEqual(event.firstLog, ['BPF: Invalid name', 'failed to validate module [mod1] BTF: -22']);
  assert.equal(event.modules.length, ALERT_MODULES_SHOWN);
  assert.equal(event.modulesOmitted, 253 - ALERT_MODULES_SHOWN);
  assert.ok(event.modules.every((m) => m.abi === 'compatible'));
  assert.equal(event.modules[0]!.links.dashboard, `${BASE}/#/compat?kernel=5&moduleBuild=1000`);
  assert.equal(
    event.packages.reduce((n, p) => n + p.affectedModules, 0),
    253,
    'the packages cover every one',
  );
  const byName = new Map(event.packages.map((p) => [p.name, p]));
  assert.deepEqual(byName.get('linux-modules-extra-6.1.0-56-amd64')!.links, {
    api: `${BASE}/v1/compat?kernel=5&package=linux-modules-extra-6.1.0-56-amd64&version=6.1.192-3&btf=rejected&btf=corrupt`,
    dashboard: `${BASE}/#/compat?kernel=5&package=linux-modules-extra-6.1.0-56-amd64&version=6.1.192-3`,
  });
  // The out-of-tree package's verdicts are on the upload: its links say so.
  assert.equal(
    byName.get('acme-dkms-modules')!.links.api,
    `${BASE}/v1/compat?kernel=6&package=acme-dkms-modules&version=1.0-1&btf=rejected&btf=corrupt`,
  );
});

test('the rule: nothing breaks, nothing is raised; ABI-incompatible or unknown modules are not counted; loads decide severity', () => {
  const c = (over: Partial<AlertCandidate>): AlertCandidate => ({
    moduleBuildId: 1,
    moduleName: 'm',
    packageName: 'p',
    packageVersion: '1',
    kernelBuildId: running.id,
    btf: 'rejected',
    abi: 'compatible',
    load: 'loads-without-btf',
    kernelLog: [],
    ...over,
  });
  assert.equal(
    uploadBreakAlert(running, upload, [c({ btf: 'identical' }), c({ btf: 'equivalent' })], []),
    null,
  );
  assert.equal(
    uploadBreakAlert(running, upload, [c({ abi: 'incompatible' }), c({ abi: 'unknown' })], []),
    null,
  );
  assert.equal(uploadBreakAlert(running, upload, [c({})], [])!.severity, 'warning');
  assert.equal(uploadBreakAlert(running, upload, [c({ load: 'fails' })], [])!.severity, 'critical');
  assert.equal(
    uploadBreakAlert(running, upload, [c({ btf: 'corrupt', load: 'loads-with-btf' })], [])!.severity,
    'critical',
  );
});
