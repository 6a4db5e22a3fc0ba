/* global document, setTimeout, clearTimeout */
// `#/alerts`: ABI-compatible uploads that break BTF, newest first; `#/alerts/ID`: one alert with its
// kernel and the affected module builds.

import { ApiError, getJson, isAbort } from './api.js';
import { facts, h, heading, message, num, route, table, when, replace } from './dom.js';
import { abiBadge, countsText, loadBadge, verdictBadge } from './verdicts.js';

const PAGE = 50;
/** How often the feed looks for new alerts. */
const POLL_MS = 5000;

function kernelLink(a) {
  const k = a.kernel;
  return h(
    'a',
    { href: route(`/kernels/${a.kernelId}`) },
    k ? `${k.release} (${k.version})` : `kernel #${a.kernelId}`,
  );
}

function severity(a) {
  return h(
    'span',
    { class: `severity sev-${a.severity}` },
    a.severity === 'critical' ? '‼ critical' : '! warning',
  );
}

function alertRow(a, fresh = false) {
  return h(
    'tr',
    { dataset: { alert: String(a.id) }, class: fresh ? 'new' : null },
    h('th', { scope: 'row' }, h('a', { href: route(`/alerts/${a.id}`) }, `#${a.id}`)),
    h('td', null, severity(a)),
    h('td', null, kernelLink(a)),
    h('td', null, num(a.affectedModules)),
    h('td', null, a.summary),
    h('td', null, when(a.createdAt)),
  );
}

/**
 * `#/alerts`, kept live: every POLL_MS (while the tab is visible) alerts newer than the newest shown are
 * fetched, paging back until the known ones are reached, and put on top.
 */
export function alertsView({ main, signal }) {
  document.title = 'Alerts · btfwatch';
  const status = h('p', { role: 'status' }, 'Loading alerts…');
  const news = h('p', { class: 'alerts-news', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const tableEl = h(
    'table',
    { class: 'data alerts' },
    h('caption', null, 'Newest first (new alerts appear on their own)'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Alert', 'Severity', 'Kernel build', 'Affected modules', 'Summary', 'Raised'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    tbody,
  );
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more alerts');
  replace(
    main,
    heading('Alerts'),
    h(
      'p',
      { class: 'help' },
      'A newly seen kernel build that keeps already-known modules loadable (modversions match) but rejects or silently misreads their BTF.',
    ),
    status,
    news,
    tableEl,
    more,
  );
  let cursor = null;
  let count = 0;
  let newest = 0;
  let loaded = false;

  function showStatus() {
    status.textContent = count
      ? `${num(count)} alert${count === 1 ? '' : 's'}${cursor ? ' (more available)' : ''}.`
      : 'No alerts. Every ABI-compatible upload so far keeps module BTF working.';
    tableEl.hidden = count === 0;
  }

  async function load() {
    more.disabled = true;
    try {
      const res = await getJson(`/v1/alerts?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { signal });
      for (const a of res.items) tbody.append(alertRow(a));
      for (const a of res.items) newest = Math.max(newest, a.id);
      count += res.items.length;
      cursor = res.nextCursor;
      more.hidden = !cursor;
      loaded = true;
      showStatus();
    } catch (err) {
      if (!isAbort(err)) replace(status, message('error', `Could not load alerts: ${err.message}`));
    } finally {
      more.disabled = false;
    }
  }

  /** Alerts raised since the newest shown, however many: pages back until it reaches known ones. */
  async function fetchNewer() {
    const found = [];
    let page = null;
    for (;;) {
      const res = await getJson(`/v1/alerts?limit=${PAGE}${page ? `&cursor=${page}` : ''}`, { signal });
      const newer = res.items.filter((a) => a.id > newest);
      found.push(...newer);
      if (newer.length < res.items.length || !res.nextCursor) return found;
      page = res.nextCursor;
    }
  }

  let timer = null;
  async function poll() {
    timer = null;
    if (signal.aborted) return;
    if (loaded && document.visibilityState !== 'hidden') {
      try {
        const found = await fetchNewer();
        if (found.length) {
          // Newest first on top: insert in ascending order, each before the previous top.
          for (const a of found.sort((x, y) => x.id - y.id)) tbody.prepend(alertRow(a, true));
          newest = Math.max(newest, ...found.map((a) => a.id));
          count += found.length;
          showStatus();
          news.textContent = `${num(found.length)} new alert${found.length === 1 ? '' : 's'} at ${when(new Date().toISOString())}.`;
        }
      } catch (err) {
        if (isAbort(err)) return;
        news.textContent = `Could not check for new alerts: ${err.message}`;
      }
    } else if (!loaded) await load();
    if (!signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
  }
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  more.addEventListener('click', () => void load());
  return load().then(() => {
    if (!signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
  });
}

export function alertView({ main, match, signal }) {
  const id = Number(match[1]);
  document.title = `Alert #${id} · btfwatch`;
  const title = heading(`Alert #${id}`);
  const body = h('div', null, h('p', { role: 'status' }, 'Loading…'));
  replace(main, h('p', { class: 'crumbs' }, h('a', { href: route('/alerts') }, '← Alerts')), title, body);
  return (async () => {
    let a;
    try {
      a = await getJson(`/v1/alerts/${id}`, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      replace(
        body,
        message(
          'error',
          err instanceof ApiError && err.status === 404
            ? `No alert #${id}.`
            : `Could not load alert #${id}: ${err.message}`,
        ),
      );
      return;
    }
    const d = a.details ?? {};
    const modules = Array.isArray(d.modules) ? d.modules : [];
    const source = d.sourceKernelBuildId;
    // Alerts raised before details.packages existed name their packages only through the listed modules.
    const packages = Array.isArray(d.packages)
      ? d.packages
      : [...new Set(modules.map((m) => m.package))].map((name) => ({ name, version: null }));
    replace(title, `Alert #${a.id}: `, severity(a));
    replace(
      body,
      h('p', { class: 'alert-summary' }, a.summary),
      facts([
        ['Kernel build', kernelLink(a)],
        source
          ? ['Modules from', h('a', { href: route(`/kernels/${source}`) }, `kernel build #${source}`)]
          : null,
        ['Affected module builds', num(a.affectedModules)],
        d.counts ? ['Verdicts', countsText(d.counts)] : null,
        ['Cause', h('code', null, a.cause)],
        ['Raised', when(a.createdAt)],
        source
          ? [
              'Diff',
              h(
                'a',
                { href: route(`/kernels/${a.kernelId}`, { diff: source }) },
                `kernel #${source} → #${a.kernelId}`,
              ),
            ]
          : null,
      ]),
      packages.length
        ? h(
            'p',
            { class: 'alert-packages' },
            'All verdicts of ',
            packages.map((p, i) => [
              i ? ', ' : '',
              h(
                'a',
                { href: route('/compat', { kernel: a.kernelId, package: p.name, version: p.version }) },
                `${p.name}${p.version ? ` ${p.version}` : ''}`,
              ),
              p.affectedModules ? ` (${num(p.affectedModules)} affected)` : '',
            ]),
            ' on this kernel.',
          )
        : null,
      table({
        caption: `Affected module builds${
          modules.length < a.affectedModules
            ? ` (first ${num(modules.length)} of ${num(a.affectedModules)}; the package links above list all)`
            : ''
        }`,
        head: ['Module', 'Package', 'BTF', 'Load', 'ABI'],
        rows: modules.map((m) => [
          h('a', { href: route('/compat', { kernel: a.kernelId, moduleBuild: m.id }) }, m.name),
          `${m.package}${m.version ? ` ${m.version}` : ''}`,
          verdictBadge(m.btf),
          loadBadge(m.load),
          m.abi ? abiBadge(m.abi) : '—',
        ]),
        rowHeaders: true,
      }),
    );
  })();
}
