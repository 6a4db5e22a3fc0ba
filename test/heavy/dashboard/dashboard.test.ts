import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { buildProcessors } from '@btfwatch/worker';
import type { Processors } from '@btfwatch/jobs';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import {
  ADMIN_TOKEN,
  addAptMirror,
  requestScan,
  startTestService,
  type TestService,
} from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';
import { RELEASES, btfFixture } from '../../support/fixtures.ts';
import { launchBrowser, listen, openPage, screenshot, type WatchedPage } from '../../support/browser.ts';
import { INCOMPLETE_RELEASE, cachedKernelDebs } from '../../support/api/scanned-service.ts';

const IMAGE_55 = 'linux-image-6.1.0-55-amd64-unsigned';
const IMAGE_56 = 'linux-image-6.1.0-56-amd64-unsigned';
const SUITE = 'bookworm-security';
/** The in-place uploads (same release string, newer version, same CRCs) built from the other build's files. */
const UPLOAD_56 = '6.1.192-3';
const UPLOAD_55 = '6.1.192-1+abi1';

interface Kernel {
  id: number;
  release: string;
  version: string;
  baseBtfSha256: string | null;
  nrTypes: number;
  strLen: number;
}

interface Alert {
  id: number;
  kernelId: number;
  cause: string;
  severity: 'warning' | 'critical';
  summary: string;
  affectedModules: number;
  details: { uploadKernelBuildId: number; inTree: { affectedModules: number } };
}

/** The dates the suite's three Releases carry, whole minutes in the past (the dashboard shows minutes). */
const RELEASE_DATES = [14, 10, 7].map(
  (days) => new Date(Math.floor((Date.now() - days * 86_400_000) / 60_000) * 60_000),
);
/** As the dashboard writes a date. */
const shown = (d: Date | string) => `${new Date(d).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The real processors, except that the first scan job waits after its first progress report that counts
 * queued ingests (they run meanwhile) until the test lets it go: a running job the page can be watched showing.
 * (Holding an ingest instead would reorder ingestion, which changes what gets evaluated.)
 */
function holdScan(processors: Processors) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  let first = true;
  const scan = processors['scan-mirror']!;
  return {
    held,
    release: () => release(),
    processors: {
      ...processors,
      'scan-mirror': (job) =>
        scan({
          ...job,
          updateProgress: async (progress) => {
            await job.updateProgress(progress);
            if (!first || typeof progress.ingestsQueued !== 'number') return;
            first = false;
            reached();
            await gate;
          },
        }),
    } satisfies Processors,
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref()),
  ]);
}

/** Computed CSS of an element (the test tsconfig has no DOM lib, so the page-side code stays untyped). */
function cssOf(locator: Locator, property: string): Promise<string> {
  return locator.evaluate(
    (el, prop) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(
        el,
      )[prop]!,
    property,
  );
}

/** WCAG contrast ratio of two computed `rgb(…)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const lin = (c: number) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(bl!);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

const label = (k: Kernel) => `${k.release} (${k.version})`;

/** A kernel build's matrix row (release strings repeat across in-place uploads: rows are told apart by id). */
function row(page: Page, k: Kernel): Locator {
  return page.locator(`table.matrix tr[data-kernel="${k.id}"]`);
}

/** The matrix cell of a kernel build × module package version. */
async function cell(page: Page, k: Kernel, pkg: string, version: string): Promise<Locator> {
  const index = await page
    .locator(`table.matrix th.col[data-package="${pkg}"][data-version="${version}"]`)
    .getAttribute('aria-colindex');
  assert.ok(index, `no column for ${pkg} ${version}`);
  return row(page, k).locator(`td[aria-colindex="${index}"]`);
}

function assertClean(w: WatchedPage, allowedStatuses: number[] = []): void {
  assert.deepEqual(w.errors, [], 'no script errors or CSP violations');
  assert.deepEqual(w.offOrigin, [], 'nothing loaded from anywhere but the service');
  const unexpected = w.failedResponses.filter((r) => !allowedStatuses.includes(Number(r.split(' ')[0])));
  assert.deepEqual(unexpected, [], 'no failed requests');
}

/**
 * One loopback suite published three times, each scanned:
 * 1. two ABI-compatible builds with new release strings (6.1.0-55 6.1.192-1, 6.1.0-56 6.1.192-2, image and
 *    headers): complete coverage, and no alert (a new release string never meets the other build's kernel);
 * 2. plus the headers of a third build whose image is not published: a coverage gap, still no alert;
 * 3. plus two in-place uploads: 56's release as 6.1.192-3 made of 55's files (its modules' BTF is rejected on
 *    the running 56: a warning) and 55's release as 6.1.192-1+abi1 made of 56's files (some read corrupt on
 *    the running 55: critical) — one alert each, on the running build.
 */
describe('dashboard on a scanned loopback mirror (real Chromium)', { timeout: 900_000 }, () => {
  const work = tempDir();
  let mirror: MirrorHandle;
  let svc: TestService;
  let hold: ReturnType<typeof holdScan>;
  let base: string;
  let browser: Browser;
  let mirrorId: number | undefined;
  let stages: string[][];
  let stage = 0;
  let k55: Kernel;
  let k56: Kernel;
  let u55: Kernel;
  let u56: Kernel;
  let k57: Kernel;

  const publish = (n: number) =>
    mirror.update({
      apt: {
        suites: { [SUITE]: { packages: stages[n - 1]!, date: RELEASE_DATES[n - 1], validUntil: null } },
      },
    });

  async function startScan(): Promise<void> {
    mirrorId = await addAptMirror(svc.app, mirror);
    await requestScan(svc.app, mirrorId);
  }

  async function findKernels(): Promise<void> {
    const items = (await svc.app.inject({ url: '/v1/kernels?limit=200' })).json().items as Kernel[];
    const find = (release: string, version: string) =>
      items.find((k) => k.release === release && k.version === version)!;
    k55 = find(RELEASES.bookworm55, '6.1.192-1');
    k56 = find(RELEASES.bookworm56, '6.1.192-2');
    u55 = find(RELEASES.bookworm55, UPLOAD_55);
    u56 = find(RELEASES.bookworm56, UPLOAD_56);
    k57 = find(INCOMPLETE_RELEASE, '6.1.192-3');
  }

  /** Publishes and scans up to stage `n` (later tests do not depend on earlier ones having got that far). */
  async function reach(n: number): Promise<void> {
    if (stage === 0) {
      if (mirrorId === undefined) await startScan();
      hold.release();
      await svc.drain();
      stage = 1;
    }
    while (stage < n) {
      stage += 1;
      await publish(stage);
      await requestScan(svc.app, mirrorId!);
      await svc.drain();
    }
    await findKernels();
  }

  async function alerts(): Promise<Alert[]> {
    return (await svc.app.inject({ url: '/v1/alerts' })).json().items as Alert[];
  }
  /** The alert about an upload. */
  async function alertOf(upload: Kernel): Promise<Alert> {
    const found = (await alerts()).filter((a) => a.details.uploadKernelBuildId === upload.id);
    assert.equal(found.length, 1, `one alert about ${label(upload)}`);
    return found[0]!;
  }

  before(async () => {
    const [b55, b56, up56, up55] = await Promise.all([
      cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }),
      cachedKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }),
      cachedKernelDebs({ from: RELEASES.bookworm55, release: RELEASES.bookworm56, version: UPLOAD_56 }),
      cachedKernelDebs({ from: RELEASES.bookworm56, release: RELEASES.bookworm55, version: UPLOAD_55 }),
    ]);
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
      work.path,
    );
    const first = [b55.image, b55.headers, b56.image, b56.headers];
    // The uploads come with their headers: their Module.symvers gives the CRCs the test images' small vmlinux
    // ELF does not carry, so the headers-only build stays the one gap.
    stages = [
      first,
      [...first, headers57],
      [...first, headers57, up56.image, up56.headers, up55.image, up55.headers],
    ];
    mirror = await startMirror({
      apt: { suites: { [SUITE]: { packages: stages[0]!, date: RELEASE_DATES[0], validUntil: null } } },
    });
    svc = await startTestService('embedded', {
      processors: (deps) => {
        hold = holdScan(buildProcessors(deps));
        return hold.processors;
      },
    });
    base = await listen(svc.app);
    browser = await launchBrowser();
  });

  after(async () => {
    hold?.release();
    await browser?.close();
    await svc?.close();
    await mirror?.close();
    work.remove();
  });

  test('GET / is the page; assets are versioned, immutable and same-origin; the API keeps its paths', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/[0-9a-f]{12}\/[^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(assets.map((a) => a.split('/').pop()).sort(), ['favicon.svg', 'main.js', 'style.css']);
    assert.doesNotMatch(
      html,
      /<script>|style="|https?:\/\/(?!www\.w3\.org)/,
      'no inline code and no external URLs',
    );

    const js = await fetch(`${base}${assets.find((a) => a.endsWith('main.js'))}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000/);
    assert.equal((await fetch(`${base}/ui/000000000000/main.js`)).status, 404, 'other versions do not exist');
    assert.equal((await fetch(`${base}/ui/`)).status, 404);
    const dir = assets[0]!.replace(/[^/]+$/, '');
    assert.ok([403, 404].includes((await fetch(`${base}${dir}`)).status), 'no directory listing');

    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const api = await fetch(`${base}/v1/nope`);
    assert.equal(api.status, 404);
    assert.equal(
      ((await api.json()) as { error: string }).error,
      'NOT_FOUND',
      'the API’s not-found handler still answers /v1/*',
    );
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('live: admin token asked once, a running scan shows a progress bar, the matrix fills in; the alerts page, never reloaded, goes from nothing scanned to an all-clear, to coverage gaps instead of one, to the two uploads’ alerts', async () => {
    const w = await openPage(browser, base);
    const feed = await openPage(browser, base);
    try {
      const { page } = w;
      const status = feed.page.locator('p.alerts-status');
      const box = feed.page.locator('.coverage-box');
      await feed.page.goto(`${base}/#/alerts`);
      await feed.page.getByText('No alerts yet: no kernel builds scanned.').waitFor();
      assert.equal(await box.textContent(), 'No kernel builds scanned yet: there is nothing to judge.');
      await page.goto(`${base}/`);
      await page.getByText('No kernel builds with BTF yet').waitFor();
      const strip = page.locator('.jobs-strip');
      assert.equal(await strip.locator('li.job').count(), 0, 'no jobs shown before the admin token is given');

      await strip.getByRole('button', { name: 'Enter admin token…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Admin token' });
      await dialog.waitFor();
      await dialog.getByLabel('Bearer token').fill(ADMIN_TOKEN);
      await dialog.getByRole('button', { name: 'Use token' }).click();
      await strip.getByText('No jobs running.').waitFor();
      assert.equal(await page.evaluate('sessionStorage.getItem("btfwatch.adminToken")'), ADMIN_TOKEN);

      await startScan();
      await within(hold.held, 60_000, 'the scan job reports progress');
      const job = strip.locator('li.job[data-name="scan-mirror"]');
      await job.waitFor({ timeout: 30_000 });
      const bar = job.locator('progress');
      assert.equal(
        await bar.getAttribute('aria-label'),
        `Scan mirror #${mirrorId}: 1/1 suites · 4 packages found · 4 ingests queued`,
      );
      assert.equal(await bar.getAttribute('max'), '1');
      assert.equal(await bar.evaluate((el) => (el as unknown as { value: number }).value), 1);
      await page.locator('#header-jobs a', { hasText: /jobs? running/ }).waitFor();
      await screenshot(page, 'jobs-progress');

      hold.release();
      await svc.drain();
      stage = 1;
      await strip.getByText('No jobs running.').waitFor({ timeout: 15_000 });
      // An empty matrix reloads itself when the jobs are done; a filled one offers to.
      const reload = page.getByRole('button', { name: 'Reload the matrix' });
      if (await reload.isVisible()) await reload.click();
      await page.locator('table.matrix tr.kernel').nth(1).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('#header-jobs a').count(), 0);
      assertClean(w);

      // 1. Both builds have everything the rule needs, and neither reuses the other's release: all clear.
      const api1 = (await svc.app.inject({ url: '/v1/alerts' })).json();
      assert.deepEqual([api1.items.length, api1.coverage.kernels, api1.coverage.complete], [0, 2, 2]);
      await feed.page.locator('p.alerts-status[data-state="all-clear"]').waitFor({ timeout: 20_000 });
      assert.equal(
        await status.textContent(),
        'No alerts. Every ABI-compatible upload so far keeps module BTF working.',
      );
      assert.equal(
        await box.textContent(),
        'All 2 kernel builds have what the alert rule needs (BTF, kernel version, config, symbol CRCs).',
      );
      await screenshot(feed.page, 'alerts-all-clear');

      // 2. A build known from its headers only: no BTF, no config. No alert either — and no all-clear.
      await reach(2);
      const api2 = (await svc.app.inject({ url: '/v1/alerts' })).json();
      assert.deepEqual([api2.items.length, api2.coverage.kernels, api2.coverage.complete], [0, 3, 2]);
      assert.ok(api2.coverage.summary.length >= 2, 'no BTF and no config');
      await feed.page.locator('p.alerts-status[data-state="unknown"]').waitFor({ timeout: 20_000 });
      assert.equal(
        await status.textContent(),
        'No alerts among the kernel builds that could be judged. This is not an all-clear: see what is missing above.',
      );
      assert.equal(await feed.page.getByText('keeps module BTF working').count(), 0, 'the all-clear is gone');
      assert.match(
        (await box.locator('.coverage-head').textContent()) ?? '',
        /^Not an all-clear: 1 of 3 kernel builds lacks what the verdicts or the alert rule need/,
      );
      assert.deepEqual(await box.locator('.coverage-summary li').allTextContents(), api2.coverage.summary);
      assert.equal(
        await box
          .getByRole('link', { name: 'See what each kernel build lacks, and why' })
          .getAttribute('href'),
        '#/coverage',
      );
      await screenshot(feed.page, 'alerts-coverage-gaps');

      // 3. The two in-place uploads: one alert each, on the build hosts still run, appearing on their own.
      await reach(3);
      const raised = await alerts();
      assert.equal(raised.length, 2, raised.map((a) => a.summary).join('\n'));
      const warn = await alertOf(u56);
      const crit = await alertOf(u55);
      assert.deepEqual([warn.kernelId, warn.severity], [k56.id, 'warning']);
      assert.deepEqual([crit.kernelId, crit.severity], [k55.id, 'critical']);
      for (const a of raised) {
        const tr = feed.page.locator(`table.alerts tr[data-alert="${a.id}"]`);
        await tr.waitFor({ timeout: 20_000 });
        assert.match((await tr.getAttribute('class')) ?? '', /\bnew\b/);
      }
      await feed.page.getByText('2 alerts.').waitFor();
      assert.equal(await feed.page.locator('table.alerts tbody tr').count(), 2);
      // One poll may find both, or each its own (the evaluations raise them one after the other).
      assert.match((await feed.page.locator('.alerts-news').textContent()) ?? '', /^[12] new alerts? at /);
      // Still not an all-clear for the rest: the headers-only build is still there.
      await box.getByText('Not an all-clear: 1 of 5 kernel builds lacks', { exact: false }).waitFor();
      assert.equal(
        await feed.page.evaluate('performance.getEntriesByType("navigation").length'),
        1,
        'no reload',
      );
      assertClean(feed);
    } finally {
      await feed.close();
      await w.close();
    }
  });

  test('alerts feed: running build and upload by release and version, the in-tree and out-of-tree parts, legible severities', async () => {
    await reach(3);
    const warn = await alertOf(u56);
    const crit = await alertOf(u55);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/`);
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByText('2 alerts.').waitFor();
      const tr = page.locator(`table.alerts tr[data-alert="${warn.id}"]`);
      assert.ok(((await tr.textContent()) ?? '').includes(warn.summary));
      assert.match(
        warn.summary,
        /^Hosts still running 6\.1\.0-56-amd64 \(6\.1\.192-2\) that install the 6\.1\.192-3 upload/,
      );
      const running = tr.locator('td.running a');
      assert.deepEqual(
        [await running.textContent(), await running.getAttribute('href')],
        [label(k56), `#/kernels/${k56.id}`],
      );
      const upload = tr.locator('td.upload a');
      assert.deepEqual(
        [await upload.textContent(), await upload.getAttribute('href')],
        [label(u56), `#/kernels/${u56.id}`],
      );
      assert.equal(
        await tr.locator('td.in-tree').textContent(),
        '12 modules: 12 rejected; 12 load without BTF',
      );
      assert.equal(await tr.locator('td.out-of-tree').textContent(), 'none');
      const critRow = page.locator(`table.alerts tr[data-alert="${crit.id}"]`);
      assert.equal(await critRow.locator('td.running a').textContent(), label(k55));
      assert.equal(await critRow.locator('td.upload a').textContent(), label(u55));
      assert.match((await critRow.locator('td.in-tree').textContent()) ?? '', /^12 modules: \d+ corrupt/);
      // No row names a build by its id alone.
      assert.doesNotMatch((await page.locator('table.alerts').textContent()) ?? '', /kernel( build)? #\d/);
      // Severity marks: text and background differ, and read (WCAG AA for normal text).
      for (const sev of ['critical', 'warning']) {
        const mark = page.locator(`table.alerts .severity.sev-${sev}`);
        const [fg, bg] = [await cssOf(mark, 'color'), await cssOf(mark, 'backgroundColor')];
        assert.notEqual(fg, bg, `${sev}: ${fg} on ${bg}`);
        assert.ok(contrast(fg, bg) >= 4.5, `${sev}: ${fg} on ${bg} has contrast ${contrast(fg, bg)}`);
      }
      await screenshot(page, 'alerts');
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('alert page: both builds named, the upload’s modules on the running build with the kernel’s first lines, evidence links', async () => {
    await reach(3);
    const alert = await alertOf(u56);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/alerts`);
      await page
        .locator(`table.alerts tr[data-alert="${alert.id}"]`)
        .getByRole('link', { name: `#${alert.id}` })
        .click();
      assert.match(page.url(), new RegExp(`#/alerts/${alert.id}$`));
      await page.getByRole('heading', { level: 1, name: /^Alert #\d+: ! warning$/ }).waitFor();
      assert.equal(await page.locator('p.alert-summary').textContent(), alert.summary);
      const facts = Object.fromEntries(
        await page
          .locator('dl.alert-facts dt')
          .evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
      );
      assert.equal(facts['Running build'], label(k56));
      assert.equal(facts['Upload'], label(u56));
      assert.equal(facts['Diff'], `${label(u56)} → ${label(k56)}`);
      assert.doesNotMatch(
        (await page.locator('main').textContent()) ?? '',
        /kernel( build)? #\d|#\d+ → #\d+/,
      );
      assert.equal(
        await page.getByRole('link', { name: `${label(u56)} → ${label(k56)}` }).getAttribute('href'),
        `#/kernels/${k56.id}?diff=${u56.id}`,
      );

      const inTree = page.locator('section.in-tree');
      assert.equal(await inTree.locator('h2').textContent(), `The upload’s modules on ${label(k56)}`);
      assert.equal(
        await inTree.locator('p.alert-packages').textContent(),
        `All verdicts of ${IMAGE_56} ${UPLOAD_56} on ${label(k56)} (12 affected).`,
      );
      assert.ok(((await inTree.textContent()) ?? '').includes('12 load without BTF'));
      assert.equal(await page.locator('section.out-of-tree .none').textContent(), 'None affected.');
      // The kernel's first lines, verbatim, as the alert stored them.
      const stored = (await svc.app.inject({ url: `/v1/alerts/${alert.id}` })).json().details
        .firstLog as string[];
      assert.ok(stored.length > 0);
      assert.equal(await page.locator('pre.kernel-log').textContent(), stored.join('\n'));
      assert.match(stored.at(-1)!, /^failed to validate module \[\w+\] BTF: -22$/);

      const affected = page.locator('table.alert-modules');
      await affected.locator('tbody tr').nth(11).waitFor();
      assert.equal(await affected.locator('tbody tr').count(), 12);
      assert.deepEqual(
        [...new Set(await affected.locator('tbody td:nth-child(3)').allTextContents())],
        [label(k56)],
      );
      assert.deepEqual(
        [...new Set(await affected.locator('tbody td:nth-child(6)').allTextContents())],
        ['ABI compatible'],
      );
      await screenshot(page, 'alert');

      // An affected module leads to its verdict on the running kernel, with the log lines.
      await affected.getByRole('link', { name: 'overlay', exact: true }).click();
      assert.match(page.url(), new RegExp(`#/compat\\?kernel=${k56.id}&moduleBuild=\\d+$`));
      await page
        .getByRole('heading', {
          level: 1,
          name: new RegExp(`^Module build #\\d+ on ${RELEASES.bookworm56}$`),
        })
        .waitFor();
      assert.ok(
        ((await page.locator('pre.kernel-log').textContent()) ?? '').includes(
          'failed to validate module [overlay] BTF: -22',
        ),
      );
      // Back to the alert, then to the upload's page.
      await page.goBack();
      await affected.waitFor();
      await page
        .locator('dl.alert-facts')
        .getByRole('link', { name: label(u56), exact: true })
        .click();
      await page.getByText(`package version ${UPLOAD_56}`, { exact: false }).waitFor();

      // The critical one: corrupt modules, and its mark reads.
      const crit = await alertOf(u55);
      await page.goto(`${base}/#/alerts/${crit.id}`);
      await page.getByRole('heading', { level: 1, name: /^Alert #\d+: ‼ critical$/ }).waitFor();
      const mark = page.locator('h1 .severity.sev-critical');
      const [fg, bg] = [await cssOf(mark, 'color'), await cssOf(mark, 'backgroundColor')];
      assert.ok(contrast(fg, bg) >= 4.5, `${fg} on ${bg}`);
      assert.match((await page.locator('section.in-tree').textContent()) ?? '', /\d+ corrupt/);
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('coverage view lists each build’s gaps with the reason, as GET /v1/coverage does', async () => {
    await reach(3);
    const cov = (await svc.app.inject({ url: '/v1/coverage' })).json();
    const gap = cov.gaps.find((g: { kernel: { id: number } }) => g.kernel.id === k57.id);
    assert.ok(gap, 'the headers-only build has gaps');
    assert.deepEqual(
      gap.missing.map((m: { input: string }) => m.input),
      ['btf', 'config'],
    );
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/alerts`);
      await page.getByRole('link', { name: 'See what each kernel build lacks, and why' }).click();
      await page.getByRole('heading', { level: 1, name: 'Coverage' }).waitFor();
      await page.locator('table.coverage-table').waitFor();
      assert.equal(
        await page.locator('p.coverage-count').textContent(),
        `${cov.complete} of ${cov.kernels} kernel builds complete.`,
      );
      const rows = await page
        .locator('table.coverage-table tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
      assert.deepEqual(rows, [
        [label(k57), 'vmlinux BTF', gap.missing[0].effect, gap.missing[0].why],
        ['', 'kernel config', gap.missing[1].effect, gap.missing[1].why],
      ]);
      await screenshot(page, 'coverage');
      // The build's own page says the same, and a complete build says nothing is missing.
      await page.getByRole('link', { name: label(k57) }).click();
      const mine = page.locator('section[aria-labelledby="coverage-title"] ul.gaps-list li');
      await mine.first().waitFor();
      assert.deepEqual(await mine.evaluateAll((lis) => lis.map((li) => li.dataset.input)), ['btf', 'config']);
      await page.goto(`${base}/#/kernels/${k56.id}`);
      await page.locator('section[aria-labelledby="coverage-title"] p.no-gaps').waitFor();
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('matrix: the builds newest first, module-package columns coloured by worst verdict, alert marks that read', async () => {
    await reach(3);
    const warn = await alertOf(u56);
    const crit = await alertOf(u55);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(3).waitFor();
      assert.equal(
        await page.getByRole('heading', { level: 1 }).textContent(),
        'Kernel builds × module packages',
      );
      assert.equal(
        await page.locator('.matrix-summary').textContent(),
        '4 kernel builds × 4 module packages.',
        'the headers-only build has no BTF: not a row',
      );
      assert.deepEqual(
        await page
          .locator('table.matrix tr.kernel')
          .evaluateAll((rows) => rows.map((r) => Number(r.dataset.kernel))),
        [u56.id, k56.id, u55.id, k55.id],
        'newest package version first',
      );
      assert.equal(
        await page.locator('table.matrix tr.group th').textContent(),
        'debian · bookworm-security · amd64 — 4 builds',
      );
      // Columns: newest kernel's in-tree modules first; a screen reader hears the full name, the eye gets the
      // distinguishing part (the release) in full.
      const heads = page.locator('table.matrix th.col');
      assert.deepEqual(await heads.locator('.sr-only').allTextContents(), [
        `${IMAGE_56} ${UPLOAD_56}`,
        `${IMAGE_56} 6.1.192-2`,
        `${IMAGE_55} ${UPLOAD_55}`,
        `${IMAGE_55} 6.1.192-1`,
      ]);
      const grid = page.getByRole('grid');
      assert.equal(await grid.getAttribute('aria-rowcount'), '6', 'header + group + 4 kernel rows');
      assert.equal(await grid.getAttribute('aria-colcount'), '5');

      // 55's modules on 56: the real cross-build rejection; each build's own modules: identical.
      const rejected = await cell(page, k56, IMAGE_55, '6.1.192-1');
      assert.equal(await rejected.getAttribute('data-worst'), 'rejected');
      assert.equal(await rejected.locator('.sym').textContent(), '✗');
      assert.equal(
        await rejected.getAttribute('aria-label'),
        `${RELEASES.bookworm56} × ${IMAGE_55} 6.1.192-1: rejected — 12 rejected`,
      );
      assert.equal(await cssOf(rejected, 'backgroundColor'), 'rgb(198, 40, 40)');
      // The upload's modules on the build it replaces: what the warning is about.
      const upload = await cell(page, k56, IMAGE_56, UPLOAD_56);
      assert.equal(await upload.getAttribute('data-worst'), 'rejected');
      for (const [k, version, pkg] of [
        [k56, '6.1.192-2', IMAGE_56],
        [k55, '6.1.192-1', IMAGE_55],
      ] as const) {
        const own = await cell(page, k, pkg, version);
        assert.equal(await own.getAttribute('data-worst'), 'identical');
        assert.equal(await own.locator('.sym').textContent(), '✓');
        assert.match((await own.getAttribute('class')) ?? '', /\bown\b/);
        assert.match(
          (await own.getAttribute('aria-label')) ?? '',
          /\(its own modules\): identical — 12 identical$/,
        );
        assert.equal(await cssOf(own, 'backgroundColor'), 'rgb(46, 125, 50)');
      }
      // 56's modules on the older 55 were never asked for: the cell says so.
      const unasked = await cell(page, k55, IMAGE_56, '6.1.192-2');
      assert.equal(await unasked.getAttribute('data-worst'), '');
      assert.match((await unasked.getAttribute('aria-label')) ?? '', /: not evaluated$/);

      // The legend names every verdict in text, not colour alone.
      const legend = (await page.locator('.legend ul').textContent()) ?? '';
      for (const v of ['corrupt', 'rejected', 'unverified', 'absent', 'relocated', 'equivalent', 'identical'])
        assert.ok(legend.includes(v), `legend names ${v}`);
      // Each running build with an alert is marked, linking to it; the uploads themselves are not.
      const markOf = (k: Kernel) => row(page, k).locator('a.alert-mark');
      assert.equal(await markOf(k56).getAttribute('href'), `#/alerts/${warn.id}`);
      assert.equal(await markOf(k55).getAttribute('href'), `#/alerts/${crit.id}`);
      assert.match((await markOf(k55).getAttribute('class')) ?? '', /\bsev-critical\b/);
      assert.equal(await markOf(u56).count(), 0);
      assert.equal(await markOf(u55).count(), 0);
      for (const k of [k55, k56]) {
        const mark = markOf(k);
        const [fg, bg] = [await cssOf(mark, 'color'), await cssOf(mark, 'backgroundColor')];
        assert.notEqual(fg, bg, `${label(k)}: ${fg} on ${bg}`);
        assert.ok(contrast(fg, bg) >= 4.5, `${label(k)}: ${fg} on ${bg}, contrast ${contrast(fg, bg)}`);
      }
      await screenshot(page, 'matrix');

      // Hovering a cell shows its verdict counts.
      await rejected.hover();
      const tip = page.getByRole('tooltip');
      await tip.waitFor();
      assert.match(
        (await tip.textContent()) ?? '',
        /6\.1\.0-56-amd64 \(6\.1\.192-2\)× linux-image-6\.1\.0-55-amd64-unsigned 6\.1\.192-1.*rejected 12 modules/,
      );
      await screenshot(page, 'matrix-hover');
      await page.mouse.move(0, 0);
      await tip.waitFor({ state: 'hidden' });
      // A click opens the evidence, and no card stays over the page: neither for a cell the pointer had
      // just reached (its card was still due) nor for one hovered long enough to show it.
      const panel = page.getByRole('complementary', { name: 'Evidence for the selected cell' });
      await upload.click();
      await panel
        .getByRole('heading', { name: `${IMAGE_56} ${UPLOAD_56} on ${RELEASES.bookworm56}` })
        .waitFor();
      await page.waitForTimeout(600);
      assert.equal(await tip.isVisible(), false, 'no card after a click on a cell just reached');
      await rejected.hover();
      await tip.waitFor();
      await rejected.click();
      await panel.getByRole('heading', { name: `${IMAGE_55} 6.1.192-1 on ${RELEASES.bookworm56}` }).waitFor();
      await page.waitForTimeout(600);
      assert.equal(await tip.isVisible(), false, 'the card shown before the click is gone');
      // Moving on to another cell still shows its card.
      await (await cell(page, k56, IMAGE_56, '6.1.192-2')).hover();
      await tip.waitFor();
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('matrix on a 2560 px screen uses the width: columns share it and cells name their counts', async () => {
    await reach(3);
    const w = await openPage(browser, base, { width: 2560, height: 1440 });
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(3).waitFor();
      const scroller = page.locator('.grid-scroll');
      const [gridWidth, scrollerWidth, mainWidth] = await Promise.all([
        page.locator('table.matrix').evaluate((el) => el.getBoundingClientRect().width),
        scroller.evaluate((el) => el.clientWidth),
        page.locator('main').evaluate((el) => el.clientWidth),
      ]);
      assert.ok(scrollerWidth > 0.9 * mainWidth, `scroller ${scrollerWidth} of ${mainWidth}`);
      assert.ok(gridWidth >= 0.95 * scrollerWidth, `matrix ${gridWidth} px wide in ${scrollerWidth} px`);
      assert.ok(gridWidth <= scrollerWidth, 'and no horizontal scrolling for 4 columns');
      // As tall as its rows, not a screen-high box around them.
      const [gridHeight, scrollerHeight] = await Promise.all([
        page.locator('table.matrix').evaluate((el) => el.getBoundingClientRect().height),
        scroller.evaluate((el) => el.clientHeight),
      ]);
      assert.ok(
        scrollerHeight <= gridHeight + 2,
        `scroller ${scrollerHeight} px for ${gridHeight} px of rows`,
      );
      const rejected = await cell(page, k56, IMAGE_55, '6.1.192-1');
      assert.equal(await rejected.locator('.counts').textContent(), '12 rejected');
      await screenshot(page, 'matrix-2560');
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('opening a cell shows per-module verdicts with the kernel log verbatim; the panel is linkable', async () => {
    await reach(3);
    const expected = (
      await svc.app.inject({
        url: `/v1/compat?kernel=${k56.id}&package=${IMAGE_55}&version=6.1.192-1&module=overlay`,
      })
    ).json().items[0];
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      await (await cell(page, k56, IMAGE_55, '6.1.192-1')).click();
      const panel = page.getByRole('complementary', { name: 'Evidence for the selected cell' });
      await panel.getByRole('heading', { name: `${IMAGE_55} 6.1.192-1 on ${RELEASES.bookworm56}` }).waitFor();
      const items = panel.locator('details.verdict');
      await items.nth(11).waitFor();
      assert.equal(await items.count(), 12);
      assert.deepEqual(
        [...new Set(await items.evaluateAll((ds) => ds.map((d) => d.dataset.btf)))],
        ['rejected'],
      );
      const overlay = panel.locator('details.verdict[data-module="overlay"]');
      await overlay.locator(':scope > summary').click();
      const log = overlay.locator('pre.kernel-log');
      await log.waitFor();
      // Exactly the lines the kernel prints (whitespace and all), in a monospace block.
      assert.equal(await log.textContent(), expected.evidence.kernelLog.join('\n'));
      assert.ok(
        (await log.textContent())!.endsWith(
          'BPF: Invalid name\nBPF: \nfailed to validate module [overlay] BTF: -22',
        ),
      );
      assert.match(await cssOf(log, 'fontFamily'), /mono/i);
      assert.equal(await cssOf(log, 'whiteSpace'), 'pre');
      const text = (await overlay.textContent()) ?? '';
      assert.ok(text.includes(expected.explanation), 'explanation shown');
      assert.ok(text.includes('loads without BTF'), 'load prediction shown');
      assert.ok(text.includes(expected.loadReason), 'load reason shown');
      assert.ok(text.includes('ABI compatible'), 'modversions verdict shown');
      // The build the module ships with, by release and version.
      const ships = overlay.getByRole('link', { name: label(k55), exact: true });
      await ships.waitFor();
      assert.equal(await ships.getAttribute('href'), `#/kernels/${k55.id}`);
      await overlay.scrollIntoViewIfNeeded();
      await screenshot(page, 'evidence');

      // The URL names the open cell: loading it again opens the same evidence.
      const url = page.url();
      assert.match(url, new RegExp(`#/matrix\\?kernel=${k56.id}&package=${IMAGE_55}&version=6\\.1\\.192-1$`));
      await page.keyboard.press('Escape');
      await panel.waitFor({ state: 'hidden' });
      assert.match(page.url(), /#\/matrix$/);
      const again = await browser.newPage();
      try {
        await again.goto(url);
        await again
          .getByRole('heading', { name: `${IMAGE_55} 6.1.192-1 on ${RELEASES.bookworm56}` })
          .waitFor();
      } finally {
        await again.close();
      }
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('keyboard: arrows move through cells, Enter computes a never-asked cell (corrupt) and the matrix updates', async () => {
    await reach(3);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(3).waitFor();
      // One tab stop in the grid: the first cell of the newest kernel.
      const first = await cell(page, u56, IMAGE_56, UPLOAD_56);
      assert.equal(await page.locator('table.matrix [tabindex="0"]').count(), 1);
      assert.equal(await first.getAttribute('tabindex'), '0');
      await first.focus();
      // To 56's own modules' column, then down to the oldest build: 56's modules on 55, never asked for.
      await page.keyboard.press('ArrowRight');
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      const target = await cell(page, k55, IMAGE_56, '6.1.192-2');
      assert.equal(await target.getAttribute('data-worst'), '');
      assert.equal(
        await target.evaluate(
          (el) =>
            el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
        ),
        true,
      );
      // The keyboard's focus shows the card (the mouse's does not).
      await page.getByRole('tooltip').waitFor();
      await page.keyboard.press('Enter');
      const panel = page.getByRole('complementary', { name: 'Evidence for the selected cell' });
      await panel.getByRole('heading', { name: `${IMAGE_56} 6.1.192-2 on ${RELEASES.bookworm55}` }).waitFor();
      await panel.locator('details.verdict').nth(11).waitFor({ timeout: 60_000 });
      const nls = panel.locator('details.verdict[data-module="nls_cp437"]');
      assert.equal(await nls.getAttribute('data-btf'), 'corrupt');
      // The verdicts just computed reach the matrix: worst of rejected + corrupt is corrupt.
      const updated = (await cell(page, k55, IMAGE_56, '6.1.192-2')).and(
        page.locator('[data-worst="corrupt"]'),
      );
      await updated.waitFor();
      assert.equal(await updated.locator('.sym').textContent(), '☠');
      assert.equal(await cssOf(updated, 'backgroundColor'), 'rgb(74, 20, 140)');
      // …and the panel learns the cell's counts: verdict filters appear; the corrupt one narrows the list.
      const counts = (await svc.app.inject({ url: '/v1/matrix' }))
        .json()
        .cells.find(
          (c: { kernelId: number; column: string }) =>
            c.kernelId === k55.id && c.column === `${IMAGE_56}@6.1.192-2`,
        ).counts;
      assert.equal(counts.corrupt + counts.rejected, 12);
      await panel.getByRole('button', { name: 'all (12)' }).waitFor();
      await panel.getByRole('button', { name: `☠ corrupt (${counts.corrupt})` }).click();
      await panel
        .getByText(`${counts.corrupt} module build${counts.corrupt === 1 ? '' : 's'} shown (corrupt)`, {
          exact: false,
        })
        .waitFor();
      assert.deepEqual(
        [
          ...new Set(
            await panel.locator('details.verdict').evaluateAll((ds) => ds.map((d) => d.dataset.btf)),
          ),
        ],
        ['corrupt'],
      );
      await screenshot(page, 'evidence-corrupt');
      await page.keyboard.press('Escape');
      await panel.waitFor({ state: 'hidden' });
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('filters and text filter go into the URL and narrow rows and columns', async () => {
    await reach(3);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix?flavour=amd64`);
      await page.locator('table.matrix tr.kernel').nth(3).waitFor();
      assert.equal(await page.getByLabel('flavour').inputValue(), 'amd64');

      await page.getByLabel('package name contains').fill('6.1.0-55');
      await page.getByText('× 2 module packages matching “6.1.0-55” (of 4).').waitFor();
      assert.match(page.url(), /#\/matrix\?flavour=amd64&q=6\.1\.0-55$/);
      assert.deepEqual(
        await page
          .locator('table.matrix th.col')
          .evaluateAll((ths) => ths.map((t) => `${t.dataset.package} ${t.dataset.version}`)),
        [`${IMAGE_55} ${UPLOAD_55}`, `${IMAGE_55} 6.1.192-1`],
      );

      await page.getByLabel('flavour').fill('cloud-amd64');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('No kernel builds with BTF match these filters.').waitFor();
      assert.match(page.url(), /#\/matrix\?flavour=cloud-amd64&q=6\.1\.0-55$/);
      assert.equal(await page.locator('table.matrix tr.kernel').count(), 0);

      await page.goto(`${base}/#/matrix?suite=bookworm-security&distro=debian&arch=amd64`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      assert.equal(await page.getByLabel('suite').inputValue(), 'bookworm-security');

      // Verdict filter, server side: only builds and packages with corrupt module builds — the ones the API
      // names (56's modules on 55 computed on request here should the keyboard test not have run).
      await svc.app.inject({ url: `/v1/compat?kernel=${k55.id}&package=${IMAGE_56}&version=6.1.192-2` });
      const corrupt = (await svc.app.inject({ url: '/v1/matrix?verdict=corrupt' })).json();
      assert.ok(
        corrupt.kernels.some((k: Kernel) => k.id === k55.id),
        '56’s modules are corrupt on 55',
      );
      await page.getByRole('checkbox', { name: 'corrupt' }).check();
      await page.getByRole('button', { name: 'Apply' }).click();
      const n = corrupt.kernels.length;
      const c = corrupt.columns.length;
      await page
        .getByText(
          `${n} kernel build${n === 1 ? '' : 's'} × ${c} module package${c === 1 ? '' : 's'}, with corrupt module builds.`,
        )
        .waitFor();
      assert.match(
        page.url(),
        /#\/matrix\?distro=debian&suite=bookworm-security&arch=amd64&verdict=corrupt$/,
      );
      assert.deepEqual(
        (
          await page
            .locator('table.matrix tr.kernel')
            .evaluateAll((rows) => rows.map((r) => Number(r.dataset.kernel)))
        ).sort(),
        corrupt.kernels.map((k: Kernel) => k.id).sort(),
      );
      assert.ok(!corrupt.kernels.some((k: Kernel) => k.id === k56.id), 'nothing is corrupt on 56');
      assert.equal(
        await (await cell(page, k55, IMAGE_56, '6.1.192-2')).getAttribute('data-worst'),
        'corrupt',
      );
      await screenshot(page, 'matrix-verdict-filter');
      // The URL alone restores it; an empty answer says so.
      await page.goto(`${base}/#/matrix?verdict=rejected,corrupt`);
      await page.getByText(', with rejected or corrupt module builds.', { exact: false }).waitFor();
      assert.equal(await page.getByRole('checkbox', { name: 'rejected' }).isChecked(), true);
      assert.equal(await page.getByRole('checkbox', { name: 'corrupt' }).isChecked(), true);
      assert.equal(await page.getByRole('checkbox', { name: 'identical' }).isChecked(), false);
      await page.goto(`${base}/#/matrix?verdict=unverified`);
      await page.getByText('No kernel builds with BTF match these filters.').waitFor();
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('kernel page: identity, when it was published, config, suites, and the diff against another build as a table and a chart', async () => {
    await reach(3);
    const diff = (await svc.app.inject({ url: `/v1/kernels/${k55.id}/diff/${k56.id}` })).json();
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await row(page, k56).getByRole('link', { name: RELEASES.bookworm56, exact: true }).click();
      assert.match(page.url(), new RegExp(`#/kernels/${k56.id}$`));
      await page.getByRole('heading', { level: 1, name: RELEASES.bookworm56 }).waitFor();
      const identity = page.locator('section[aria-labelledby="identity-title"]');
      await identity.waitFor();
      const idText = (await identity.textContent()) ?? '';
      assert.ok(idText.includes(k56.baseBtfSha256!), 'base BTF hash in full');
      assert.ok(idText.includes('100,751') && idText.includes('1,794,309'), 'nr_types and str_len');
      assert.ok(idText.includes('bookworm-security'), 'suites');
      assert.ok(idText.includes('6.1.192-2') && idText.includes('6.1.192'), 'version and kernel version');
      // Published: the Release date of the scan that first listed it, not when btfwatch saw it.
      const detail = (await svc.app.inject({ url: `/v1/kernels/${k56.id}` })).json();
      assert.equal(detail.locations.length, 1);
      assert.equal(detail.locations[0].mirrorId, mirrorId);
      assert.equal(detail.locations[0].publishedAt, RELEASE_DATES[0]!.toISOString());
      const published = identity
        .locator('dt', { hasText: /^Published$/ })
        .locator('xpath=following-sibling::dd[1]');
      assert.equal(
        await published.textContent(),
        `${shown(RELEASE_DATES[0]!)} (bookworm-security’s Release of the scan that first listed it; published then or earlier)`,
      );
      // Where it was seen: the mirror, its suite, and when.
      const seen = page.locator('section[aria-labelledby="seen-title"] table.locations');
      assert.deepEqual(
        await seen
          .locator('tbody tr')
          .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent))),
        [
          [
            `${mirror.aptUrl.replace(/\/$/, '')} (apt)`, // the mirror names no distro: each build's comes from its release
            'bookworm-security',
            '2 of 2',
            shown(RELEASE_DATES[0]!),
            shown(detail.locations[0].firstSeenAt),
            shown(detail.locations[0].lastSeenAt),
          ],
        ],
      );
      for (const field of ['firstSeenAt', 'lastSeenAt']) {
        const at = detail.locations[0][field] as string;
        assert.ok(Date.parse(at) <= Date.now() && Date.now() - Date.parse(at) < 3_600_000, `${field} ${at}`);
      }
      const flags = page.locator('section[aria-labelledby="config-title"] tbody tr');
      assert.deepEqual(await flags.allTextContents(), [
        'CONFIG_DEBUG_INFO_BTF✓ y (set)',
        'CONFIG_DEBUG_INFO_BTF_MODULES✓ y (set)',
        'CONFIG_MODULE_ALLOW_BTF_MISMATCH✓ y (set)',
        'CONFIG_MODVERSIONS✓ y (set)',
      ]);

      // The previous build of the flavour by package version is the in-place upload of 55.
      const table = page.locator('table.diff-table');
      await table.waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('#diff-with option:checked').textContent(), `${label(u55)} #${u55.id}`);
      // Against 55 itself (a pick from the list, kept in the URL):
      await page.locator('#diff-with').selectOption(String(k55.id));
      await page.waitForURL(new RegExp(`#/kernels/${k56.id}\\?diff=${k55.id}$`));
      await page
        .locator('table.diff-table caption', { hasText: `${label(k55)} → ${label(k56)}` })
        .waitFor({ timeout: 60_000 });
      const rows = Object.fromEntries(
        (
          await table
            .locator('tbody tr')
            .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))
        ).map((cells: string[]) => [cells[0], cells.slice(1)]),
      );
      assert.deepEqual(rows['nr_types'], ['100,800', '100,751', '−49']);
      assert.deepEqual(rows['Base BTF sha256'], [
        k55.baseBtfSha256!.slice(0, 12),
        k56.baseBtfSha256!.slice(0, 12),
        'different',
      ]);
      assert.equal(rows['Named types changed']![2], diff.base.named.counts.changed.toLocaleString('en-US'));
      assert.equal(
        rows['Same-id types whose meaning changed']![2],
        diff.base.changedTypeIds.toLocaleString('en-US'),
      );
      assert.equal(rows['Exported symbols (CRC changed)']![2], String(diff.crcs.changed));
      assert.equal(rows['Earlier build’s module builds evaluated here']![2], '12');
      const fate = page.locator('table', {
        has: page.locator('caption', {
          hasText: `Module builds of ${RELEASES.bookworm55} evaluated on ${RELEASES.bookworm56}`,
        }),
      });
      assert.deepEqual(await fate.locator('tbody tr').allTextContents(), [
        '✗ rejectedloads without BTFABI compatible12',
      ]);

      const chart = page.getByRole('img', { name: /Changes at a glance/ });
      await chart.waitFor();
      assert.equal(await chart.locator('rect.seg.v-rejected').count(), 2, 'stacked bar segment and its key');
      assert.match(
        (await chart.locator('desc').textContent()) ?? '',
        new RegExp(`named types changed: ${diff.base.named.counts.changed}.*12 rejected`),
      );
      await screenshot(page, 'kernel', true);

      // The alert of this kernel is listed and leads to the alert page.
      await page.locator('section[aria-labelledby="alerts-title"] a').click();
      await page.getByRole('heading', { level: 1, name: /^Alert #\d+/ }).waitFor();

      // The upload was published by the third Release.
      await page.goto(`${base}/#/kernels/${u56.id}`);
      await page
        .locator('section[aria-labelledby="identity-title"]')
        .getByText(`${shown(RELEASE_DATES[2]!)} (bookworm-security’s Release`)
        .waitFor();
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('kernel page lists the build’s packages and verdict counts', async () => {
    await reach(3);
    const w = await openPage(browser, base);
    try {
      await w.page.goto(`${base}/#/kernels/${k56.id}`);
      const packages = w.page.locator('section[aria-labelledby="packages-title"]');
      await packages.locator('table').waitFor({ timeout: 10_000 });
      const text = (await packages.textContent()) ?? '';
      assert.ok(text.includes(IMAGE_56) && text.includes('linux-headers-6.1.0-56-amd64'));
      // Verdict counts come from the detail endpoint: 55's and the upload's modules (the same files) both
      // rejected, its own identical.
      const detail = (await svc.app.inject({ url: `/v1/kernels/${k56.id}` })).json() as {
        verdicts: Array<{ btf: string; load: string; abi: string; count: number }>;
      };
      const rejected = detail.verdicts.find((v) => v.btf === 'rejected');
      assert.deepEqual(rejected, {
        btf: 'rejected',
        load: 'loads-without-btf',
        abi: 'compatible',
        count: 24,
      });
      const counts = w.page.locator('section[aria-labelledby="verdicts-title"] tbody tr');
      assert.equal(await counts.count(), detail.verdicts.length);
      assert.equal(await counts.first().textContent(), '✗ rejectedloads without BTFABI compatible24');
      // A build that does not exist says so (no fallback to other endpoints).
      await w.page.goto(`${base}/#/kernels/999999`);
      await w.page.getByText('No kernel build #999999.').waitFor();
      assertClean(w, [404]);
    } finally {
      await w.close();
    }
  });

  test('jobs: recent jobs’ results read as fields, with links, never as raw JSON', async () => {
    await reach(3);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/jobs`);
      await page.getByRole('button', { name: 'Enter admin token…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Admin token' });
      await dialog.getByLabel('Bearer token').fill(ADMIN_TOKEN);
      await dialog.getByRole('button', { name: 'Use token' }).click();
      const recent = page.locator('section[aria-labelledby="recent-title"] table');
      await recent.waitFor();
      const outcomes = await recent.locator('tbody td:nth-child(3)').allTextContents();
      assert.ok(outcomes.length >= 10, outcomes.join('\n'));
      for (const o of outcomes) assert.doesNotMatch(o, /[{}[\]]|":/, `not JSON: ${o}`);
      // The last scan listed all nine packages; the evaluation that raised an alert links it.
      const scan = recent.locator('tbody tr', { hasText: `Scan mirror #${mirrorId}` }).first();
      assert.match(
        (await scan.locator('td:nth-child(3)').textContent()) ?? '',
        /suites: 1 suite scanned, 1 changedpackages: 9 found/,
      );
      const alert = await alertOf(u56);
      const link = recent.getByRole('link', { name: `#${alert.id}`, exact: true }).first();
      assert.equal(await link.getAttribute('href'), `#/alerts/${alert.id}`);
      // Kernel builds by release and version, not by row id.
      const evaluation = recent.getByRole('link', { name: `Evaluate ${label(k56)}`, exact: true }).first();
      assert.equal(await evaluation.getAttribute('href'), `#/kernels/${k56.id}`);
      const ingest = recent.locator('tbody tr', { hasText: `Ingest ${IMAGE_56} ${UPLOAD_56}` });
      assert.equal(
        await ingest.getByRole('link', { name: label(u56), exact: true }).getAttribute('href'),
        `#/kernels/${u56.id}`,
      );
      assert.doesNotMatch((await recent.textContent()) ?? '', /kernel( build)? #\d/);
      await screenshot(page, 'jobs');
      assertClean(w);
    } finally {
      await w.close();
    }
  });
});

describe('dashboard with BTFWATCH_READ_TOKEN (real Chromium)', { timeout: 120_000 }, () => {
  const READ_TOKEN = 'read-token-0123456789abcdef';
  let svc: TestService;
  let base: string;
  let browser: Browser;

  before(async () => {
    svc = await startTestService('embedded', { env: { BTFWATCH_READ_TOKEN: READ_TOKEN } });
    base = await listen(svc.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  test('a read endpoint answering 401 prompts for the token, a wrong one is refused, the right one kept', async () => {
    assert.equal((await fetch(`${base}/`)).status, 200, 'the page itself needs no token');
    assert.equal((await fetch(`${base}/v1/matrix`)).status, 401);
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/`);
      const dialog = page.getByRole('dialog', { name: 'Read token required' });
      await dialog.waitFor();
      await dialog.getByLabel('Bearer token').fill('wrong-token-wrong-token');
      await dialog.getByRole('button', { name: 'Use token' }).click();
      await dialog.getByText('The token was refused.').waitFor();
      await screenshot(page, 'read-token');
      await dialog.getByLabel('Bearer token').fill(READ_TOKEN);
      await dialog.getByRole('button', { name: 'Use token' }).click();
      await page.getByText('No kernel builds with BTF yet').waitFor();
      assert.equal(await page.evaluate('sessionStorage.getItem("btfwatch.readToken")'), READ_TOKEN);
      // Another view reuses it without asking again; with nothing scanned it claims no all-clear.
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByText('No alerts yet: no kernel builds scanned.').waitFor();
      assert.equal(await page.getByText('keeps module BTF working').count(), 0);
      assert.equal(await dialog.isVisible(), false);
      assertClean(w, [401]);
    } finally {
      await w.close();
    }
  });
});
