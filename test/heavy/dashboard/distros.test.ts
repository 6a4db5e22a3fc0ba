// The matrix groups kernel builds by distribution: builds of Debian, Ubuntu, RHEL, openSUSE and Proxmox (as the
// distro layouts' scans store them: distro from the mirror or the release string, flavour from the release) each
// head their own group, and the distro filter narrows the grid to one of them. Real Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { upsertKernelBuild } from '@btfwatch/db';
import { startTestService, type TestService } from '../../support/service.ts';
import { launchBrowser, listen, openPage, screenshot } from '../../support/browser.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const BUILDS = [
  {
    distro: 'debian',
    release: '6.1.0-56-cloud-amd64',
    version: '6.1.192-2',
    arch: 'amd64',
    flavour: 'cloud-amd64',
    suite: 'bookworm-security',
  },
  {
    distro: 'ubuntu',
    release: '6.1.0-56-generic',
    version: '6.1.0-56.58',
    arch: 'amd64',
    flavour: 'generic',
    suite: 'noble-updates',
  },
  {
    distro: 'rhel',
    release: '6.1.0-56.el9.x86_64',
    version: '6.1.0-56.el9',
    arch: 'x86_64',
    flavour: null,
    suite: '.',
  },
  {
    distro: 'opensuse',
    release: '6.1.192-2-default',
    version: '6.1.192-2.1',
    arch: 'x86_64',
    flavour: 'default',
    suite: '.',
  },
  {
    distro: 'proxmox',
    release: '6.1.192-9-pve',
    version: '6.1.192-9',
    arch: 'amd64',
    flavour: 'pve',
    suite: 'bookworm',
  },
];

describe('dashboard groups kernel builds by distribution (real Chromium)', { timeout: 180_000 }, () => {
  let svc: TestService;
  let base: string;
  let browser: Browser;

  before(async () => {
    svc = await startTestService('embedded');
    for (const [i, b] of BUILDS.entries())
      await upsertKernelBuild(
        svc.database.db,
        { distro: b.distro, release: b.release, version: b.version, arch: b.arch },
        {
          flavour: b.flavour,
          kernelVersion: '6.1.192',
          baseBtfSha256: sha(`base ${i}`),
          nrTypes: 100_000 + i,
          strLen: 1_790_000 + i,
          vermagic: `${b.release} SMP preempt mod_unload modversions `,
          config: null,
          suites: [b.suite],
          evaluatedAt: new Date(),
        },
      );
    base = await listen(svc.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('one group per distribution, and the distro filter', async () => {
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').first().waitFor();
      const groups = (await page.locator('table.matrix tr.group th').allTextContents()).map((t) => t.trim());
      const distros = groups.map((g) => g.split(' · ')[0]);
      assert.deepEqual(
        [...distros].sort(),
        ['debian', 'opensuse', 'proxmox', 'rhel', 'ubuntu'],
        groups.join(' | '),
      );
      assert.ok(
        groups.some((g) => g.startsWith('ubuntu · noble-updates · generic')),
        groups.join(' | '),
      );
      assert.ok(
        groups.some((g) => g.startsWith('proxmox · bookworm · pve')),
        groups.join(' | '),
      );
      assert.equal(await page.locator('table.matrix tr.kernel').count(), BUILDS.length);
      await screenshot(page, 'matrix-distros');

      await page.goto(`${base}/#/matrix?distro=ubuntu`);
      await page.locator('table.matrix tr.kernel').first().waitFor();
      await page.waitForFunction("document.querySelectorAll('table.matrix tr.kernel').length === 1");
      const only = (await page.locator('table.matrix tr.group th').allTextContents()).map((t) => t.trim());
      assert.deepEqual(
        only.map((g) => g.split(' · ')[0]),
        ['ubuntu'],
      );
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.offOrigin, []);
    } finally {
      await w.close();
    }
  });
});
