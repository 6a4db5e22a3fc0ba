import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { buildProcessors } from '@btfwatch/worker';
import type { Processors } from '@btfwatch/jobs';
import { buildKernelDebs } from '../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../support/mirror-server/index.ts';
import {
  ADMIN_TOKEN,
  addAptMirror,
  requestScan,
  startTestService,
  type TestService,
} from '../support/service.ts';
import { tempDir } from '../support/services.ts';
import { RELEASES } from '../support/fixtures.ts';
import { launchBrowser, listen, openPage, screenshot, type WatchedPage } from '../support/browser.ts';

const IMAGE_55 = 'linux-image-6.1.0-55-amd64-unsigned';
const IMAGE_56 = 'linux-image-6.1.0-56-amd64-unsigned';

interface Kernel {
  id: number;
  release: string;
  version: string;
  baseBtfSha256: string;
  nrTypes: number;
  strLen: number;
}

/**
 * The real processors, except that the scan job waits after its first progress report that counts queued
 * ingests (they run meanwhile) until the test lets it go: a running job the page can be watched showing.
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

/** The matrix cell of a kernel release × module package. */
async function cell(page: Page, release: string, pkg: string): Promise<Locator> {
  const index = await page
    .locator(`table.matrix th.col[data-package="${pkg}"]`)
    .getAttribute('aria-colindex');
  assert.ok(index, `no column for ${pkg}`);
  return page.locator(`table.matrix tr[data-release="${release}"] td[aria-colindex="${index}"]`);
}

function assertClean(w: WatchedPage, allowedStatuses: number[] = []): void {
  assert.deepEqual(w.errors, [], 'no script errors or CSP violations');
  assert.deepEqual(w.offOrigin, [], 'nothing loaded from anywhere but the service');
  const unexpected = w.failedResponses.filter((r) => !allowedStatuses.includes(Number(r.split(' ')[0])));
  assert.deepEqual(unexpected, [], 'no failed requests');
}

describe('dashboard on a scanned loopback mirror (real Chromium)', { timeout: 600_000 }, () => {
  const work = tempDir();
  let mirror: MirrorHandle;
  let svc: TestService;
  let hold: ReturnType<typeof holdScan>;
  let base: string;
  let browser: Browser;
  let mirrorId: number | undefined;
  let k55: Kernel;
  let k56: Kernel;

  async function startScan(): Promise<void> {
    mirrorId = await addAptMirror(svc.app, mirror);
    await requestScan(svc.app, mirrorId);
  }

  /** Later tests do not depend on the first one having got as far as the scan. */
  async function ensureScanned(): Promise<void> {
    if (mirrorId === undefined) await startScan();
    hold.release();
    await svc.drain();
    if (k55 && k56) return;
    const items = (await svc.app.inject({ url: '/v1/kernels' })).json().items as Kernel[];
    k55 = items.find((k) => k.release === RELEASES.bookworm55)!;
    k56 = items.find((k) => k.release === RELEASES.bookworm56)!;
    assert.ok(k55 && k56, 'both kernel builds ingested');
  }

  before(async () => {
    const b55 = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }, work.path);
    const b56 = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    mirror = await startMirror({
      apt: {
        suites: { 'bookworm-security': { packages: [b55.image, b55.headers, b56.image, b56.headers] } },
      },
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

  test('live progress: admin token asked once, a running scan shows a progress bar, the matrix fills in, the alerts feed updates itself', async () => {
    const w = await openPage(browser, base);
    const feed = await openPage(browser, base);
    try {
      const { page } = w;
      await feed.page.goto(`${base}/#/alerts`);
      await feed.page.getByText('No alerts.', { exact: false }).waitFor();
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
      await strip.getByText('No jobs running.').waitFor({ timeout: 15_000 });
      // An empty matrix reloads itself when the jobs are done; a filled one offers to.
      const reload = page.getByRole('button', { name: 'Reload the matrix' });
      if (await reload.isVisible()) await reload.click();
      await page.locator('table.matrix tr.kernel').nth(1).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('#header-jobs a').count(), 0);
      assertClean(w);

      // The alerts page open since before the scan shows the alert the scan raised, without a reload.
      const [alert] = (await svc.app.inject({ url: '/v1/alerts' })).json().items;
      assert.ok(alert, 'the scan raised an alert');
      const row = feed.page.locator(`table.alerts tr[data-alert="${alert.id}"]`);
      await row.waitFor({ timeout: 20_000 });
      assert.match((await row.getAttribute('class')) ?? '', /\bnew\b/);
      assert.equal(await feed.page.locator('table.alerts tbody tr').count(), 1);
      await feed.page.getByText('1 alert.').waitFor();
      assert.match((await feed.page.locator('.alerts-news').textContent()) ?? '', /^1 new alert at /);
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

  test('matrix: both kernel builds, newest first, module-package columns coloured by worst verdict', async () => {
    await ensureScanned();
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      assert.equal(
        await page.getByRole('heading', { level: 1 }).textContent(),
        'Kernel builds × module packages',
      );
      assert.equal(
        await page.locator('.matrix-summary').textContent(),
        '2 kernel builds × 2 module packages.',
      );
      assert.deepEqual(
        await page
          .locator('table.matrix tr.kernel')
          .evaluateAll((rows) => rows.map((r) => r.dataset.release)),
        [RELEASES.bookworm56, RELEASES.bookworm55],
      );
      assert.equal(
        await page.locator('table.matrix tr.group th').textContent(),
        'debian · bookworm-security · amd64 — 2 builds',
      );
      // Columns: newest kernel's in-tree modules first; a screen reader hears the full name, the eye gets the
      // distinguishing part (the release) in full.
      const heads = page.locator('table.matrix th.col');
      assert.deepEqual(await heads.locator('.sr-only').allTextContents(), [
        `${IMAGE_56} 6.1.192-2`,
        `${IMAGE_55} 6.1.192-1`,
      ]);
      assert.deepEqual(await heads.locator('.col-main').allTextContents(), [
        '6.1.0-56-amd64-unsigned',
        '6.1.0-55-amd64-unsigned',
      ]);
      const grid = page.getByRole('grid');
      assert.equal(await grid.getAttribute('aria-rowcount'), '4', 'header + group + 2 kernel rows');
      assert.equal(await grid.getAttribute('aria-colcount'), '3');

      // 55's modules on 56: the real cross-build rejection; each build's own modules: identical.
      const rejected = await cell(page, RELEASES.bookworm56, IMAGE_55);
      assert.equal(await rejected.getAttribute('data-worst'), 'rejected');
      assert.equal(await rejected.textContent(), '✗');
      assert.equal(
        await rejected.getAttribute('aria-label'),
        `${RELEASES.bookworm56} × ${IMAGE_55} 6.1.192-1: rejected — 12 rejected`,
      );
      assert.equal(await cssOf(rejected, 'backgroundColor'), 'rgb(198, 40, 40)');
      for (const [release, pkg] of [
        [RELEASES.bookworm56, IMAGE_56],
        [RELEASES.bookworm55, IMAGE_55],
      ] as const) {
        const own = await cell(page, release, pkg);
        assert.equal(await own.getAttribute('data-worst'), 'identical');
        assert.equal(await own.textContent(), '✓');
        assert.match((await own.getAttribute('class')) ?? '', /\bown\b/);
        assert.match(
          (await own.getAttribute('aria-label')) ?? '',
          /\(its own modules\): identical — 12 identical$/,
        );
        assert.equal(await cssOf(own, 'backgroundColor'), 'rgb(46, 125, 50)');
      }
      // 56's modules on the older 55 were never asked for: the cell says so.
      const unasked = await cell(page, RELEASES.bookworm55, IMAGE_56);
      assert.equal(await unasked.getAttribute('data-worst'), '');
      assert.match((await unasked.getAttribute('aria-label')) ?? '', /: not evaluated$/);

      // The legend names every verdict in text, not colour alone.
      const legend = (await page.locator('.legend ul').textContent()) ?? '';
      for (const v of ['corrupt', 'rejected', 'unverified', 'absent', 'relocated', 'equivalent', 'identical'])
        assert.ok(legend.includes(v), `legend names ${v}`);
      // The kernel with the alert is marked, linking to it.
      const mark = page.locator(`tr[data-release="${RELEASES.bookworm56}"] a.alert-mark`);
      assert.match((await mark.getAttribute('href')) ?? '', /^#\/alerts\/\d+$/);
      assert.equal(await mark.getAttribute('data-count'), '1');
      assert.equal(await page.locator(`tr[data-release="${RELEASES.bookworm55}"] a.alert-mark`).count(), 0);
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
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('opening a cell shows per-module verdicts with the kernel log verbatim; the panel is linkable', async () => {
    await ensureScanned();
    const expected = (
      await svc.app.inject({ url: `/v1/compat?kernel=${k56.id}&package=${IMAGE_55}&module=overlay` })
    ).json().items[0];
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      await (await cell(page, RELEASES.bookworm56, IMAGE_55)).click();
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
    await ensureScanned();
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      // One tab stop in the grid: the first cell of the newest kernel.
      const first = await cell(page, RELEASES.bookworm56, IMAGE_56);
      assert.equal(await page.locator('table.matrix [tabindex="0"]').count(), 1);
      assert.equal(await first.getAttribute('tabindex'), '0');
      await first.focus();
      await page.keyboard.press('ArrowDown');
      const target = await cell(page, RELEASES.bookworm55, IMAGE_56);
      assert.equal(
        await target.evaluate(
          (el) =>
            el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
        ),
        true,
      );
      await page.keyboard.press('Enter');
      const panel = page.getByRole('complementary', { name: 'Evidence for the selected cell' });
      await panel.getByRole('heading', { name: `${IMAGE_56} 6.1.192-2 on ${RELEASES.bookworm55}` }).waitFor();
      await panel.locator('details.verdict').nth(11).waitFor({ timeout: 60_000 });
      const nls = panel.locator('details.verdict[data-module="nls_cp437"]');
      assert.equal(await nls.getAttribute('data-btf'), 'corrupt');
      // The verdicts just computed reach the matrix: worst of rejected + corrupt is corrupt.
      const updated = page.locator(`tr[data-release="${RELEASES.bookworm55}"] td[data-worst="corrupt"]`);
      await updated.waitFor();
      assert.equal(await updated.textContent(), '☠');
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
    await ensureScanned();
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix?flavour=amd64`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      assert.equal(await page.getByLabel('flavour').inputValue(), 'amd64');

      await page.getByLabel('package name contains').fill('6.1.0-55');
      await page.getByText('× 1 module package matching “6.1.0-55” (of 2).').waitFor();
      assert.match(page.url(), /#\/matrix\?flavour=amd64&q=6\.1\.0-55$/);
      assert.deepEqual(
        await page.locator('table.matrix th.col').evaluateAll((ths) => ths.map((t) => t.dataset.package)),
        [IMAGE_55],
      );

      await page.getByLabel('flavour').fill('cloud-amd64');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('No kernel builds with BTF match these filters.').waitFor();
      assert.match(page.url(), /#\/matrix\?flavour=cloud-amd64&q=6\.1\.0-55$/);
      assert.equal(await page.locator('table.matrix tr.kernel').count(), 0);

      await page.goto(`${base}/#/matrix?suite=bookworm-security&distro=debian&arch=amd64`);
      await page.locator('table.matrix tr.kernel').nth(1).waitFor();
      assert.equal(await page.getByLabel('suite').inputValue(), 'bookworm-security');

      // Verdict filter: only builds and packages with corrupt module builds (56's modules on 55, computed
      // on request here should the keyboard test not have run).
      await svc.app.inject({ url: `/v1/compat?kernel=${k55.id}&package=${IMAGE_56}` });
      await page.getByRole('checkbox', { name: 'corrupt' }).check();
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('1 kernel build × 1 module package, with corrupt module builds.').waitFor();
      assert.match(
        page.url(),
        /#\/matrix\?distro=debian&suite=bookworm-security&arch=amd64&verdict=corrupt$/,
      );
      assert.deepEqual(
        await page
          .locator('table.matrix tr.kernel')
          .evaluateAll((rows) => rows.map((r) => r.dataset.release)),
        [RELEASES.bookworm55],
      );
      assert.deepEqual(
        await page.locator('table.matrix th.col').evaluateAll((ths) => ths.map((t) => t.dataset.package)),
        [IMAGE_56],
      );
      assert.equal(
        await (await cell(page, RELEASES.bookworm55, IMAGE_56)).getAttribute('data-worst'),
        'corrupt',
      );
      await screenshot(page, 'matrix-verdict-filter');
      // The URL alone restores it; two verdicts widen it to both builds and both packages.
      await page.goto(`${base}/#/matrix?verdict=rejected,corrupt`);
      await page
        .getByText('2 kernel builds × 2 module packages, with rejected or corrupt module builds.')
        .waitFor();
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

  test('kernel page: identity, config, suites, and the diff against the previous build as a table and a chart', async () => {
    await ensureScanned();
    const diff = (await svc.app.inject({ url: `/v1/kernels/${k55.id}/diff/${k56.id}` })).json();
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/#/matrix`);
      await page.getByRole('link', { name: RELEASES.bookworm56, exact: true }).click();
      assert.match(page.url(), new RegExp(`#/kernels/${k56.id}$`));
      await page.getByRole('heading', { level: 1, name: RELEASES.bookworm56 }).waitFor();
      const identity = page.locator('section[aria-labelledby="identity-title"]');
      await identity.waitFor();
      const idText = (await identity.textContent()) ?? '';
      assert.ok(idText.includes(k56.baseBtfSha256), 'base BTF hash in full');
      assert.ok(idText.includes('100,751') && idText.includes('1,794,309'), 'nr_types and str_len');
      assert.ok(idText.includes('bookworm-security'), 'suites');
      // Where it was seen: the mirror, its suite, and when.
      const seen = page.locator('section[aria-labelledby="seen-title"] table.locations');
      assert.deepEqual(
        await seen
          .locator('tbody tr')
          .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent))),
        [
          [
            `${mirror.aptUrl.replace(/\/$/, '')} (apt, debian)`,
            'bookworm-security',
            '2 of 2',
            (await seen.locator('tbody td').nth(3).textContent())!,
            (await seen.locator('tbody td').nth(4).textContent())!,
          ],
        ],
      );
      const detail = (await svc.app.inject({ url: `/v1/kernels/${k56.id}` })).json();
      assert.equal(detail.locations.length, 1);
      assert.equal(detail.locations[0].mirrorId, mirrorId);
      for (const [i, field] of [
        [3, 'firstSeenAt'],
        [4, 'lastSeenAt'],
      ] as const) {
        const at = detail.locations[0][field] as string;
        assert.ok(Date.parse(at) <= Date.now() && Date.now() - Date.parse(at) < 3_600_000, `${field} ${at}`);
        assert.equal(
          await seen.locator('tbody td').nth(i).textContent(),
          `${at.slice(0, 16).replace('T', ' ')} UTC`,
        );
      }
      assert.ok(idText.includes('6.1.192-2') && idText.includes('6.1.192'), 'version and kernel version');
      const flags = page.locator('section[aria-labelledby="config-title"] tbody tr');
      assert.deepEqual(await flags.allTextContents(), [
        'CONFIG_DEBUG_INFO_BTF✓ y (set)',
        'CONFIG_DEBUG_INFO_BTF_MODULES✓ y (set)',
        'CONFIG_MODULE_ALLOW_BTF_MISMATCH✓ y (set)',
        'CONFIG_MODVERSIONS✓ y (set)',
      ]);

      const table = page.locator('table.diff-table');
      await table.waitFor({ timeout: 60_000 });
      assert.equal(
        await page.locator('#diff-with option:checked').textContent(),
        `${RELEASES.bookworm55} (6.1.192-1) #${k55.id}`,
        'compared with the previous build of the same flavour',
      );
      const rows = Object.fromEntries(
        (
          await table
            .locator('tbody tr')
            .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))
        ).map((cells: string[]) => [cells[0], cells.slice(1)]),
      );
      assert.deepEqual(rows['nr_types'], ['100,800', '100,751', '−49']);
      assert.deepEqual(rows['Base BTF sha256'], [
        k55.baseBtfSha256.slice(0, 12),
        k56.baseBtfSha256.slice(0, 12),
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
      assertClean(w);
    } finally {
      await w.close();
    }
  });

  test('kernel page lists the build’s packages', async () => {
    await ensureScanned();
    const w = await openPage(browser, base);
    try {
      await w.page.goto(`${base}/#/kernels/${k56.id}`);
      const packages = w.page.locator('section[aria-labelledby="packages-title"]');
      await packages.locator('table').waitFor({ timeout: 10_000 });
      const text = (await packages.textContent()) ?? '';
      assert.ok(text.includes(IMAGE_56) && text.includes('linux-headers-6.1.0-56-amd64'));
      // Verdict counts come from the detail endpoint too.
      const counts = w.page.locator('section[aria-labelledby="verdicts-title"] tbody tr');
      assert.deepEqual(await counts.allTextContents(), [
        '✗ rejectedloads without BTFABI compatible12',
        '✓ identicalloads with BTFABI compatible12',
      ]);
      // A build that does not exist says so (no fallback to other endpoints).
      await w.page.goto(`${base}/#/kernels/999999`);
      await w.page.getByText('No kernel build #999999.').waitFor();
      assertClean(w, [404]);
    } finally {
      await w.close();
    }
  });

  test('alerts feed links the kernel and the affected modules', async () => {
    await ensureScanned();
    const alert = (await svc.app.inject({ url: '/v1/alerts' })).json().items[0];
    const w = await openPage(browser, base);
    try {
      const { page } = w;
      await page.goto(`${base}/`);
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByText('1 alert.').waitFor();
      const row = page.locator(`table.alerts tr[data-alert="${alert.id}"]`);
      assert.ok(((await row.textContent()) ?? '').includes(alert.summary));
      assert.equal(
        await row.getByRole('link', { name: `${RELEASES.bookworm56} (6.1.192-2)` }).getAttribute('href'),
        `#/kernels/${k56.id}`,
      );
      await screenshot(page, 'alerts');

      await row.getByRole('link', { name: `#${alert.id}` }).click();
      assert.match(page.url(), new RegExp(`#/alerts/${alert.id}$`));
      const affected = page.locator('table', {
        has: page.locator('caption', { hasText: 'Affected module builds' }),
      });
      await affected.locator('tbody tr').nth(11).waitFor();
      assert.equal(await affected.locator('tbody tr').count(), 12);
      assert.equal(
        await page.locator('p.alert-packages').textContent(),
        `All verdicts of ${IMAGE_55} 6.1.192-1 (12 affected) on this kernel.`,
      );
      assert.deepEqual(
        [...new Set(await affected.locator('tbody tr td:nth-child(5)').allTextContents())],
        ['ABI compatible'],
      );
      assert.equal(await page.locator('p.alert-summary').textContent(), alert.summary);
      assert.equal(
        await page.getByRole('link', { name: `kernel build #${k55.id}` }).getAttribute('href'),
        `#/kernels/${k55.id}`,
      );
      await screenshot(page, 'alert');

      // An affected module leads to its verdict on the alerting kernel, with the log lines.
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

      // Back to the alert, then to its kernel.
      await page.goBack();
      await affected.waitFor();
      await page.getByRole('link', { name: `${RELEASES.bookworm56} (6.1.192-2)` }).click();
      await page.getByRole('heading', { level: 1, name: RELEASES.bookworm56 }).waitFor();
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
      // Another view reuses it without asking again.
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByText('No alerts.', { exact: false }).waitFor();
      assert.equal(await dialog.isVisible(), false);
      assertClean(w, [401]);
    } finally {
      await w.close();
    }
  });
});
