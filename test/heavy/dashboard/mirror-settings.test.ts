// The jobs page in Chromium: a scan's warnings and failed suites in words, and the mirrors with what
// weakens their checking (insecure, allowExpired) beside their patterns and last scan's warnings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, listen, openPage, screenshot } from '../../support/browser.ts';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { ADMIN_TOKEN, authHeader, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('bw-dash-mirrors-');
let mirror: MirrorHandle;
let svc: TestService;
let browser: Browser;
let base: string;

before(async () => {
  const deb = await buildDeb(
    {
      name: 'linux-headers-6.1.0-56-amd64',
      version: '6.1.192-1',
      files: {
        'usr/src/linux-headers-6.1.0-56-amd64/Module.symvers':
          '0x00000001\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n',
      },
    },
    join(work.path, 'debs'),
  );
  mirror = await startMirror({
    apt: {
      suites: {
        current: { packages: [deb] },
        frozen: { packages: [deb], validUntil: new Date(Date.now() - 86400_000) },
      },
    },
  });
  svc = await startTestService('embedded');
  base = await listen(svc.app);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await svc?.close();
  await mirror?.close();
  work.remove();
});

async function addAndScan(payload: Record<string, unknown>): Promise<number> {
  const res = await svc.app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: { kind: 'apt', url: mirror.aptUrl, ...payload },
  });
  assert.equal(res.statusCode, 201, res.body);
  const id = (res.json() as { id: number }).id;
  await svc.app.inject({ method: 'POST', url: `/v1/mirrors/${id}/scan`, headers: authHeader() });
  await svc.drain();
  return id;
}

test('jobs page: scan warnings and failed suites in words; mirrors with patterns, trust flags and warnings', async () => {
  const keyring = readFileSync(mirror.key.armoredPublicKeyPath, 'utf8');
  const strict = await addAndScan({
    suites: ['current', 'frozen'],
    match: ['linux-headers-*', 'zfs-*'],
    keyring,
  });
  const lenient = await addAndScan({ suites: ['frozen'], allowExpired: true, keyring });

  const w = await openPage(browser, base);
  try {
    const { page } = w;
    await page.goto(`${base}/#/jobs`);
    await page.locator('.jobs-strip').getByRole('button', { name: 'Enter admin token…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await dialog.getByLabel('Bearer token').fill(ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Use token' }).click();

    const table = page.locator('table.mirrors-table');
    await table.waitFor({ timeout: 15_000 });
    const row = (id: number) => table.locator('tbody tr', { hasText: `#${id} ` });
    const strictRow = await row(strict).innerText();
    assert.match(strictRow, /linux-headers-\*/);
    assert.match(strictRow, /zfs-\*/);
    assert.match(strictRow, /own keyring/);
    assert.match(strictRow, /frozen: MIRROR_STALE: Release expired/);
    assert.match(strictRow, /"zfs-\*" matches no package in current MATCH_NOTHING/);
    assert.doesNotMatch(strictRow, /expired Releases allowed/);
    const lenientRow = await row(lenient).innerText();
    assert.match(lenientRow, /expired Releases allowed/);
    assert.match(lenientRow, /RELEASE_EXPIRED/);

    // The recent scans say the same as fields, not as JSON.
    const scans = page.locator('ul.job-result');
    await scans.first().waitFor();
    const outcomes = (await scans.allInnerTexts()).join('\n');
    assert.match(
      outcomes,
      /failed: frozen: Release expired .*allowExpired \(CLI --allow-expired\).*\(MIRROR_STALE\)/,
    );
    assert.match(
      outcomes,
      /warning: current: match pattern "zfs-\*" matches no package in current \(MATCH_NOTHING\)/,
    );
    assert.match(outcomes, /expired allowed: frozen \(expired Releases allowed\)/);
    assert.match(
      outcomes,
      /warning: frozen: Release expired .*accepted because allowExpired is set \(RELEASE_EXPIRED\)/,
    );
    assert.doesNotMatch(outcomes, /\[object Object\]|\{"/);
    await screenshot(page, 'jobs-mirrors', true);
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.offOrigin, []);
  } finally {
    await w.close();
  }
});
