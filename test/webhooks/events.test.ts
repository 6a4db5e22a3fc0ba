import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertCandidate } from '@btfwatch/compat';
import type { Alert, KernelBuild } from '@btfwatch/db';
import { ALERT_MODULES_SHOWN, affectedPackages } from '@btfwatch/compat';
import { btfBreakEvent, eventLinks } from '@btfwatch/webhooks';

const BASE = 'https://btfwatch.example';

test('alert.btf_break past the module cap: how many were left out, and complete per-package links', () => {
  // 250 affected modules in two packages, the way evaluate-kernel stores them (first ALERT_MODULES_SHOWN listed).
  const affected: AlertCandidate[] = Array.from({ length: 250 }, (_, i) => ({
    moduleBuildId: 1000 + i,
    moduleName: `mod${i}`,
    packageName: i < 180 ? 'linux-image-6.1.0-55-amd64-unsigned' : 'linux-modules-extra-6.1.0-55-amd64',
    sourceKernelBuildId: 4,
    btf: i % 10 === 0 ? 'corrupt' : 'rejected',
    abi: 'compatible',
    load: 'loads-without-btf',
  }));
  const versionOf = new Map(affected.map((a) => [a.moduleBuildId, '6.1.192-1']));
  const packages = affectedPackages(affected, versionOf);
  assert.deepEqual(
    packages.map((p) => [p.name, p.affectedModules]),
    [
      ['linux-image-6.1.0-55-amd64-unsigned', 180],
      ['linux-modules-extra-6.1.0-55-amd64', 70],
    ],
  );
  const alert = {
    id: 9,
    kind: 'btf_break',
    kernelBuildId: 5,
    cause: 'btf_break:kernel-4',
    severity: 'critical',
    summary: 'x',
    affectedModules: affected.length,
    details: {
      sourceKernelBuildId: 4,
      counts: { rejected: 225, corrupt: 25 },
      packages,
      modules: affected.slice(0, ALERT_MODULES_SHOWN).map((a) => ({
        id: a.moduleBuildId,
        name: a.moduleName,
        package: a.packageName,
        version: '6.1.192-1',
        btf: a.btf,
        load: a.load,
        abi: a.abi,
      })),
    },
    createdAt: new Date('2026-11-25T00:00:00Z'),
  } as Alert;
  const kernel = { id: 5, distro: 'debian', release: '6.1.0-56-amd64', version: '6.1.192-2' } as KernelBuild;
  const event = btfBreakEvent(alert, kernel, eventLinks(BASE, kernel.id)) as {
    modules: Array<{ id: number; abi: string; links: { dashboard: string } }>;
    modulesOmitted: number;
    packages: Array<{ name: string; affectedModules: number; links: { api: string; dashboard: string } }>;
  };
  assert.equal(event.modules.length, ALERT_MODULES_SHOWN);
  assert.equal(event.modulesOmitted, 250 - ALERT_MODULES_SHOWN);
  assert.ok(event.modules.every((m) => m.abi === 'compatible'));
  assert.equal(event.modules[0]!.links.dashboard, `${BASE}/#/compat?kernel=5&moduleBuild=1000`);
  assert.equal(
    event.packages.reduce((n, p) => n + p.affectedModules, 0),
    250,
    'the packages cover every one',
  );
  assert.deepEqual(event.packages[1]!.links, {
    api: `${BASE}/v1/compat?kernel=5&package=linux-modules-extra-6.1.0-55-amd64&version=6.1.192-1&btf=rejected&btf=corrupt`,
    dashboard: `${BASE}/#/compat?kernel=5&package=linux-modules-extra-6.1.0-55-amd64&version=6.1.192-1`,
  });
});
