import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import {
  createMirror,
  insertModuleBuilds,
  linkKernelPackage,
  raiseAlerts,
  recordSeenPackage,
  selectModuleBuilds,
  upsertKernelBuild,
  upsertVerdicts,
  type BtfVerdict,
  type KernelBuild,
  type NewVerdict,
} from '@btfwatch/db';
import { predictLoad, type AbiCheck, type KernelConfigFlags } from '@btfwatch/compat';
import { startTestService, type TestService } from '../../support/service.ts';
import { launchBrowser, listen, openPage, screenshot } from '../../support/browser.ts';

const KERNELS = 300;
/** What the previous build's modules get on the next one, in turn: every colour shows up. */
const CROSS: BtfVerdict[] = ['rejected', 'corrupt', 'equivalent', 'relocated', 'unverified', 'absent'];

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const flavourOf = (i: number) => (i % 3 === 0 ? 'cloud-amd64' : 'amd64');
const suiteOf = (i: number) => (i < KERNELS / 2 ? 'bookworm' : 'bookworm-security');
const releaseOf = (i: number) => `6.1.0-${i}-${flavourOf(i)}`;

/** A build whose config was never scanned: what a rejected BTF does to the load turns on it. */
const NO_CONFIG = 6;
const ABI_OK: AbiCheck = {
  abi: 'compatible',
  vermagicMatch: true,
  mismatches: [],
  mismatchCount: 0,
  reason: '',
};
const CONFIG = {
  DEBUG_INFO_BTF: true,
  DEBUG_INFO_BTF_MODULES: true,
  MODULE_ALLOW_BTF_MISMATCH: true,
  MODVERSIONS: true,
};

function verdict(
  moduleBuildId: number,
  kernelBuildId: number,
  btf: BtfVerdict,
  module: string,
  config: KernelConfigFlags | null = CONFIG,
): NewVerdict {
  const rejected = btf === 'rejected';
  // The load prediction as the evaluator makes it, from the kernel's config (or its absence).
  const { load, reason } = predictLoad(btf, ABI_OK, config);
  return {
    moduleBuildId,
    kernelBuildId,
    btf,
    load,
    loadReason: rejected || load === 'unknown' ? reason : null,
    abi: 'compatible',
    evidence: {
      explanation: `synthetic ${btf} verdict`,
      kernelLog: rejected ? ['BPF: Invalid name', `failed to validate module [${module}] BTF: -22`] : [],
    },
  };
}

/**
 * 300 kernel builds in 4 groups (2 suites × 2 flavours), each with its own image package of 2 modules,
 * the previous same-flavour build's modules evaluated on it, and one out-of-tree package evaluated on all:
 * 301 module-package columns. Written through libs/db's repositories, as the ingest pipeline would.
 */
async function seed(svc: TestService): Promise<KernelBuild[]> {
  const { db } = svc.database;
  const mirror = await createMirror(db, {
    kind: 'apt',
    url: 'http://127.0.0.1:9/debian/',
    suites: ['bookworm', 'bookworm-security'],
    components: ['main'],
    arch: 'amd64',
    distro: 'debian',
  });
  const dkms = await recordSeenPackage(
    db,
    {
      sha256: sha('acme-dkms'),
      format: 'deb',
      name: 'acme-dkms',
      version: '1.0-1',
      arch: 'amd64',
      size: 1,
      role: 'modules',
    },
    { mirrorId: mirror.id, suite: 'bookworm', url: 'pool/a/acme-dkms.deb' },
  );
  await insertModuleBuilds(db, [
    { packageSha256: dkms.sha256, path: '/lib/modules/updates/acme.ko', name: 'acme', release: 'any' },
  ]);
  const [acme] = await selectModuleBuilds(db, { packageSha256s: [dkms.sha256] });

  const kernels: KernelBuild[] = [];
  const previous = new Map<string, KernelBuild>();
  for (let i = 0; i < KERNELS; i++) {
    const release = releaseOf(i);
    const version = `6.1.${i}-1`;
    const k = await upsertKernelBuild(
      db,
      { distro: 'debian', release, version, arch: 'amd64' },
      {
        flavour: flavourOf(i),
        kernelVersion: `6.1.${i}`,
        baseBtfSha256: sha(`base ${i}`),
        nrTypes: 100_000 + i,
        strLen: 1_790_000 + i,
        vermagic: `${release} SMP preempt mod_unload modversions `,
        config: i === NO_CONFIG ? null : CONFIG,
        suites: [suiteOf(i)],
        evaluatedAt: new Date(),
      },
    );
    kernels.push(k);
    const pkg = await recordSeenPackage(
      db,
      {
        sha256: sha(`image ${i}`),
        format: 'deb',
        name: `linux-image-${release}-unsigned`,
        version,
        arch: 'amd64',
        size: 1,
        role: 'image',
      },
      { mirrorId: mirror.id, suite: suiteOf(i), url: `pool/l/linux-image-${release}.deb` },
    );
    await linkKernelPackage(db, {
      kernelBuildId: k.id,
      packageSha256: pkg.sha256,
      role: 'image',
      hasVmlinuz: true,
      modules: 2,
    });
    await insertModuleBuilds(
      db,
      ['veth', 'overlay'].map((name) => ({
        packageSha256: pkg.sha256,
        path: `/lib/modules/${release}/kernel/${name}.ko`,
        name,
        release,
        kernelBuildId: k.id,
        buildBaseSha256: k.baseBtfSha256,
        buildBaseHow: 'same-build' as const,
      })),
    );
    const own = await selectModuleBuilds(db, { kernelBuildIds: [k.id] });
    const rows = own.map((m) => verdict(m.id, k.id, 'identical', m.name));
    const prev = previous.get(flavourOf(i));
    if (prev) {
      const theirs = await selectModuleBuilds(db, { kernelBuildIds: [prev.id] });
      rows.push(
        ...theirs.map((m, j) =>
          verdict(
            m.id,
            k.id,
            j === 0 ? CROSS[i % CROSS.length]! : 'equivalent',
            m.name,
            i === NO_CONFIG ? null : CONFIG,
          ),
        ),
      );
    }
    rows.push(verdict(acme!.id, k.id, i % 2 ? 'unverified' : 'relocated', 'acme'));
    await upsertVerdicts(db, rows);
    previous.set(flavourOf(i), k);
  }
  // A critical alert for the oldest build, then a warning for every build, oldest first: the oldest
  // build's alerts have the lowest ids, past any "newest 200 alerts" window.
  await raiseAlerts(db, [
    {
      kernelBuildId: kernels[0]!.id,
      cause: 'btf_break:synthetic-critical',
      severity: 'critical' as const,
      summary: `synthetic critical alert for ${kernels[0]!.release}`,
      affectedModules: 2,
      details: {},
    },
    ...kernels.map((k, i) => ({
      kernelBuildId: k.id,
      cause: `btf_break:synthetic-${i}`,
      severity: 'warning' as const,
      summary: `synthetic alert for ${k.release}`,
      affectedModules: 1,
      details: {},
    })),
  ]);
  return kernels;
}

describe('dashboard with 300 kernel builds (real Chromium)', { timeout: 300_000 }, () => {
  let svc: TestService;
  let base: string;
  let browser: Browser;
  let kernels: KernelBuild[];

  before(async () => {
    svc = await startTestService('embedded');
    const started = Date.now();
    kernels = await seed(svc);
    console.log(`# seeded ${KERNELS} kernel builds in ${Date.now() - started} ms`);
    base = await listen(svc.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('rows and columns are virtualised, pages load on scroll, keyboard and filters keep working', async () => {
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      const rows = page.locator('table.matrix tr.kernel');
      const summary = page.locator('.matrix-summary');
      const scroller = page.locator('.grid-scroll');

      let t0 = Date.now();
      await page.goto(`${base}/#/matrix`);
      await rows.first().waitFor();
      console.log(
        `# first page (100 kernel builds) rendered ${Date.now() - t0} ms after navigation; ` +
          `client fetch+layout ${await page.locator('table.matrix').getAttribute('data-render-ms')} ms`,
      );
      assert.match(
        (await summary.textContent()) ?? '',
        /^100 kernel builds loaded \(more below\) × \d+ module packages\.$/,
      );
      // Only what is in view (plus a margin) is in the DOM.
      assert.ok((await rows.count()) < 50, `rendered rows: ${await rows.count()}`);
      assert.ok((await page.locator('table.matrix td.cell').count()) < 2500);
      assert.ok((await page.locator('table.matrix th.col').count()) < 60);
      await screenshot(page, 'matrix-300');

      // Scrolling to the end loads the next pages.
      t0 = Date.now();
      for (let i = 0; i < 40; i++) {
        if (/^300 kernel builds ×/.test((await summary.textContent()) ?? '')) break;
        await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
        await page.waitForTimeout(150);
      }
      console.log(`# all ${KERNELS} kernel builds loaded by scrolling in ${Date.now() - t0} ms`);
      assert.match((await summary.textContent()) ?? '', /^300 kernel builds × 301 module packages\.$/);
      const grid = page.getByRole('grid');
      assert.equal(
        await grid.getAttribute('aria-rowcount'),
        String(1 + 4 + KERNELS),
        'header + 4 groups + rows',
      );
      assert.equal(await grid.getAttribute('aria-colcount'), '302');
      assert.ok((await rows.count()) < 50, 'still only the rows in view');
      // The bottom: the oldest build of the group whose newest build is oldest (bookworm, cloud-amd64).
      await page.locator(`tr[data-release="${releaseOf(0)}"]`).waitFor();
      await screenshot(page, 'matrix-300-bottom');
      // Its alerts are marked although they are not among the newest 200 of 301: the worst one, and how many.
      const newest200 = (await svc.app.inject({ url: '/v1/alerts?limit=200' })).json().items as Array<{
        kernelId: number;
      }>;
      assert.ok(!newest200.some((a) => a.kernelId === kernels[0]!.id));
      const critical = (
        await svc.app.inject({ url: `/v1/alerts?kernel=${kernels[0]!.id}&severity=critical` })
      ).json().items[0];
      const mark = page.locator(`tr[data-release="${releaseOf(0)}"] a.alert-mark`);
      assert.equal(await mark.getAttribute('data-count'), '2');
      assert.equal(await mark.getAttribute('href'), `#/alerts/${critical.id}`);
      assert.match((await mark.getAttribute('class')) ?? '', /\bsev-critical\b/);
      assert.equal(
        await page.locator('tr.kernel a.alert-mark').count(),
        await rows.count(),
        'every row marked',
      );
      // Its group header sits 50 rows above: rows are virtualised, so scroll up to it.
      const rowHeight = await rows.first().evaluate((tr) => tr.getBoundingClientRect().height);
      const groupRow = 4 + KERNELS - 51; // its index among the body rows (4 group rows, 300 kernel rows)
      await scroller.evaluate((el, top) => el.scrollTo(0, top), groupRow * rowHeight);
      const lastGroup = page.locator(`tr.group[aria-rowindex="${groupRow + 2}"] th`);
      assert.equal(await lastGroup.textContent(), 'debian · bookworm · cloud-amd64 (amd64) — 50 builds');

      // The page stays responsive: a frame comes promptly after all that.
      t0 = Date.now();
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(0)))');
      console.log(`# next animation frame after loading: ${Date.now() - t0} ms`);

      // Keyboard: Ctrl+Home to the first cell, Ctrl+End to the last, far away in both directions.
      await scroller.evaluate((el) => el.scrollTo(0, 0));
      await page.waitForTimeout(100);
      const focusable = page.locator('table.matrix [tabindex="0"]');
      await focusable.focus();
      await page.keyboard.press('Control+Home');
      await page.keyboard.press('ArrowRight');
      const active = () =>
        page.evaluate(
          'document.activeElement && document.activeElement.getAttribute("aria-label")',
        ) as Promise<string | null>;
      assert.match(
        (await active()) ?? '',
        /^6\.1\.0-299-amd64 × linux-image-6\.1\.0-299-amd64-unsigned 6\.1\.299-1 \(its own modules\): identical/,
      );
      await page.keyboard.press('Control+End');
      assert.match(
        (await active()) ?? '',
        new RegExp(`^${releaseOf(0)} × acme-dkms 1\\.0-1: relocated — 1 relocated$`),
      );
      assert.equal(await page.locator('table.matrix [tabindex="0"]').count(), 1, 'one tab stop');
      await page.keyboard.press('PageUp');
      assert.match((await active()) ?? '', / × acme-dkms 1\.0-1: /);

      // The text filter narrows 301 columns to the one out-of-tree package; every row has a verdict for it.
      await page.getByLabel('package name contains').fill('acme');
      await page.getByText('300 kernel builds × 1 module package matching “acme” (of 301).').waitFor();
      await scroller.evaluate((el) => el.scrollTo(0, 0));
      await page.waitForTimeout(100);
      const worst = await page
        .locator('table.matrix td.cell')
        .evaluateAll((tds) => tds.map((td) => td.dataset.worst));
      assert.ok(
        worst.length > 5 && worst.every((v) => v === 'relocated' || v === 'unverified'),
        worst.join(','),
      );

      // A cell opens its evidence.
      await page.locator('table.matrix td.cell').first().click();
      const panel = page.getByRole('complementary', { name: 'Evidence for the selected cell' });
      await panel.getByRole('heading', { name: 'acme-dkms 1.0-1 on 6.1.0-299-amd64' }).waitFor();
      assert.equal(await panel.locator('details.verdict').count(), 1);

      // Rejected cells carry their synthetic kernel log to the panel too.
      // (build 3's modules on build 6, both cloud-amd64 in bookworm: the last group, so scroll down to it)
      await page.goto(
        `${base}/#/matrix?suite=bookworm&flavour=cloud-amd64&q=linux-image-6.1.0-3-cloud-amd64-unsigned`,
      );
      await page.getByText('50 kernel builds × 1 module package matching', { exact: false }).waitFor();
      await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.locator(`tr[data-release="${releaseOf(6)}"] td.v-rejected`).click();
      await panel.locator('pre.kernel-log').waitFor();
      assert.equal(
        await panel.locator('pre.kernel-log').textContent(),
        'BPF: Invalid name\nfailed to validate module [veth] BTF: -22',
      );
      // Build 6's config was never scanned: whether veth still loads is unknown, and the reason says why.
      const why = predictLoad('rejected', ABI_OK, null).reason;
      const veth = panel.locator('details.verdict[data-module="veth"]');
      const badge = veth.locator('summary .badge.load-unknown');
      assert.deepEqual([await badge.textContent(), await badge.getAttribute('title')], ['load unknown', why]);
      const loadFact = veth.locator('dt', { hasText: /^Load$/ }).locator('xpath=following-sibling::dd[1]');
      assert.equal(await loadFact.textContent(), `unknown: ${why}`);
      // Its page: the counts name the unknown load, and what is missing says the config.
      await page.goto(`${base}/#/kernels/${kernels[NO_CONFIG]!.id}`);
      const counts = page.locator('section[aria-labelledby="verdicts-title"]');
      await counts.locator('.badge.load-unknown').first().waitFor();
      assert.match(
        (await counts.locator('p.load-unknown-note').textContent()) ?? '',
        /^Load unknown for 1 module build: the outcome turns on an input the kernel build lacks/,
      );
      const gaps = page.locator('section[aria-labelledby="coverage-title"] ul.gaps-list li');
      await gaps.first().waitFor();
      assert.deepEqual(await gaps.evaluateAll((lis) => lis.map((li) => li.dataset.input)), [
        'config',
        'crcs',
      ]);

      // The verdict filter, server side: only the builds (and packages) with corrupt module builds.
      const corrupt = (await svc.app.inject({ url: '/v1/matrix?verdict=corrupt&limit=200' })).json();
      // CROSS puts corrupt on every 6th build (i % 6 = 1) that has an earlier build of its flavour.
      const expected = kernels.filter((_, i) => i % CROSS.length === 1 && i > 3).map((k) => k.id);
      assert.deepEqual(
        corrupt.kernels.map((k: { id: number }) => k.id).sort((a: number, b: number) => a - b),
        expected,
      );
      await page.goto(`${base}/#/matrix?verdict=corrupt`);
      await page
        .getByText(
          `${expected.length} kernel builds × ${corrupt.columns.length} module packages, with corrupt module builds.`,
        )
        .waitFor();
      const shown = await page
        .locator('table.matrix tr.kernel')
        .evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.kernel)));
      assert.ok(shown.length > 5 && shown.every((id) => expected.includes(id)), shown.join(','));

      // The alerts page over 300 builds none of which has symbol CRCs: the alerts, and no all-clear for the rest.
      const cov = (await svc.app.inject({ url: '/v1/coverage' })).json();
      assert.deepEqual([cov.kernels, cov.complete], [KERNELS, 0]);
      await page.goto(`${base}/#/alerts`);
      await page.getByText('50 alerts (more available).').waitFor();
      assert.equal(
        await page.locator('.coverage-head').textContent(),
        `Not an all-clear: ${KERNELS} of ${KERNELS} kernel builds lack what the verdicts or the alert rule need, so an upload that breaks BTF there may raise no alert.`,
      );
      assert.deepEqual(await page.locator('.coverage-summary li').allTextContents(), cov.summary);
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.offOrigin, []);
      assert.deepEqual(w.failedResponses, []);
    } finally {
      await w.close();
    }
  });
});
