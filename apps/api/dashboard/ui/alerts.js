/* global document, setTimeout, clearTimeout */
// `#/alerts`: one alert per upload U that reuses a running build K's release string and whose modules K's
// kernel rejects or silently misreads, newest first, with what the rule could not judge (coverage) instead
// of an all-clear; `#/alerts/ID`: one alert: K and U, the in-tree and out-of-tree parts, the kernel's first
// lines and the affected module builds.

import { ApiError, getJson, isAbort } from './api.js';
import { coverageBox, gapsList, isComplete, kernelGaps } from './coverage.js';
import { facts, h, heading, message, num, route, table, when, replace } from './dom.js';
import { kernelLink, kernelName, learnKernels, nameOf } from './names.js';
import { abiBadge, countsText, loadBadge, loadsText, verdictBadge } from './verdicts.js';

const PAGE = 50;
/** How often the feed looks for new alerts. */
const POLL_MS = 5000;

function severity(a) {
  return h(
    'span',
    { class: `severity sev-${a.severity}` },
    a.severity === 'critical' ? '‼ critical' : '! warning',
  );
}

/** The running build K (the alert's kernel) and the upload U, as far as the answer names them. */
function builds(a) {
  const d = a.details ?? {};
  return {
    running: { id: a.kernelId, kernel: a.kernel },
    upload: d.uploadKernelBuildId ? { id: d.uploadKernelBuildId, kernel: a.upload } : null,
  };
}

/** "12 modules: 12 rejected; 12 load without BTF", or "none". */
function partText(part) {
  if (!part || !part.affectedModules) return 'none';
  const n = part.affectedModules;
  const loads = loadsText(part.loads);
  return `${num(n)} module${n === 1 ? '' : 's'}: ${countsText(part.counts)}${loads ? `; ${loads}` : ''}`;
}

function alertRow(a, fresh = false) {
  const { running, upload } = builds(a);
  const d = a.details ?? {};
  return h(
    'tr',
    { dataset: { alert: String(a.id) }, class: fresh ? 'new' : null },
    h('th', { scope: 'row' }, h('a', { href: route(`/alerts/${a.id}`) }, `#${a.id}`)),
    h('td', null, severity(a)),
    h('td', { class: 'running' }, kernelLink(running.kernel, running.id)),
    h('td', { class: 'upload' }, upload ? kernelLink(upload.kernel, upload.id) : '—'),
    h('td', { class: 'in-tree' }, d.inTree ? partText(d.inTree) : num(a.affectedModules)),
    h('td', { class: 'out-of-tree' }, d.outOfTree ? partText(d.outOfTree) : '—'),
    h('td', null, a.summary),
    h('td', null, when(a.createdAt)),
  );
}

/** What the status line says: never "all is well" unless every kernel build could be judged. */
function statusText(count, more, coverage) {
  if (count) return `${num(count)} alert${count === 1 ? '' : 's'}${more ? ' (more available)' : ''}.`;
  if (isComplete(coverage)) return 'No alerts. Every ABI-compatible upload so far keeps module BTF working.';
  if (!coverage || coverage.kernels === 0) return 'No alerts yet: no kernel builds scanned.';
  return 'No alerts among the kernel builds that could be judged. This is not an all-clear: see what is missing above.';
}

/**
 * `#/alerts`, kept live: every POLL_MS (while the tab is visible) alerts newer than the newest shown are
 * fetched, paging back until the known ones are reached, and put on top; the coverage is refreshed with them.
 */
export function alertsView({ main, signal }) {
  document.title = 'Alerts · btfwatch';
  const coverageEl = h('div', { class: 'coverage-box', 'aria-live': 'polite' });
  const status = h('p', { role: 'status', class: 'alerts-status' }, 'Loading alerts…');
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
        [
          'Alert',
          'Severity',
          'Running build',
          'Upload',
          'Its modules there',
          'Out-of-tree modules',
          'Summary',
          'Raised',
        ].map((c) => h('th', { scope: 'col' }, c)),
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
      'One alert per upload that reuses a running kernel build’s release string (same package names, a newer ' +
        'version, modversions-compatible) whose modules that build’s kernel rejects or silently misreads: hosts ' +
        'still running it load them until they reboot. Out-of-tree modules built for it that break on the upload ' +
        'are part of the same alert.',
    ),
    coverageEl,
    status,
    news,
    tableEl,
    more,
  );
  let cursor = null;
  let count = 0;
  let newest = 0;
  let loaded = false;
  let coverage = null;

  function showStatus() {
    replace(coverageEl, coverageBox(coverage));
    status.textContent = statusText(count, cursor, coverage);
    status.dataset.state = count ? 'alerts' : isComplete(coverage) ? 'all-clear' : 'unknown';
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
      coverage = res.coverage ?? coverage;
      more.hidden = !cursor;
      loaded = true;
      showStatus();
    } catch (err) {
      if (!isAbort(err)) replace(status, message('error', `Could not load alerts: ${err.message}`));
    } finally {
      more.disabled = false;
    }
  }

  /** Alerts raised since the newest shown, however many (paging back until it reaches known ones). */
  async function fetchNewer() {
    const found = [];
    let page = null;
    let latest = null;
    for (;;) {
      const res = await getJson(`/v1/alerts?limit=${PAGE}${page ? `&cursor=${page}` : ''}`, { signal });
      latest ??= res.coverage ?? null;
      const newer = res.items.filter((a) => a.id > newest);
      found.push(...newer);
      if (newer.length < res.items.length || !res.nextCursor) return { found, coverage: latest };
      page = res.nextCursor;
    }
  }

  let timer = null;
  async function poll() {
    timer = null;
    if (signal.aborted) return;
    if (loaded && document.visibilityState !== 'hidden') {
      try {
        const { found, coverage: latest } = await fetchNewer();
        if (latest) coverage = latest;
        if (found.length) {
          // Newest first on top: insert in ascending order, each before the previous top.
          for (const a of found.sort((x, y) => x.id - y.id)) tbody.prepend(alertRow(a, true));
          newest = Math.max(newest, ...found.map((a) => a.id));
          count += found.length;
          news.textContent = `${num(found.length)} new alert${found.length === 1 ? '' : 's'} at ${when(new Date().toISOString())}.`;
        }
        showStatus();
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

/** The packages of one part, each linking to all its verdicts on the build they were judged on. */
function packageLinks(packages, names) {
  return packages.map((p, i) => [
    i ? ', ' : '',
    h(
      'a',
      { href: route('/compat', { kernel: p.kernelId, package: p.name, version: p.version }) },
      `${p.name}${p.version ? ` ${p.version}` : ''}`,
    ),
    ` on ${names(p.kernelId)}`,
    p.affectedModules ? ` (${num(p.affectedModules)} affected)` : '',
  ]);
}

function partSection(id, title, intro, part, names) {
  const none = !part || !part.affectedModules;
  return h(
    'section',
    { class: `card alert-part ${id}`, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    h('p', { class: 'help' }, intro),
    none
      ? h('p', { class: 'none' }, 'None affected.')
      : [
          facts([
            ['Module builds', num(part.affectedModules)],
            ['Verdicts', countsText(part.counts)],
            ['Load', loadsText(part.loads) || '—'],
          ]),
          part.packages?.length
            ? h('p', { class: 'alert-packages' }, 'All verdicts of ', packageLinks(part.packages, names), '.')
            : null,
        ],
  );
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
    const { running, upload } = builds(a);
    const known = new Map([[running.id, running.kernel]]);
    if (upload) known.set(upload.id, upload.kernel);
    const modules = Array.isArray(d.modules) ? d.modules : [];
    // Verdicts on builds other than K and U (kmods linked into other kernels by kABI) name them by id only.
    const others = [
      ...(Array.isArray(d.packages) ? d.packages : []).map((p) => p.kernelId),
      ...modules.map((m) => m.kernelId),
    ].filter((kid) => kid !== undefined && !known.has(kid));
    await learnKernels(others, signal);
    const names = (kernelId) =>
      known.has(kernelId) ? kernelName(known.get(kernelId), kernelId) : nameOf(kernelId);
    const firstLog = Array.isArray(d.firstLog) ? d.firstLog : [];
    const anyUnknownLoad = modules.some((m) => m.load === 'unknown');
    // RHEL weak-updates: the later kernel is a new release; only kmods built for the running build meet it.
    const weak = d.via === 'weak-updates';
    document.title = `Alert #${a.id}: ${names(running.id)} · btfwatch`;
    replace(title, `Alert #${a.id}: `, severity(a));
    const gapsBox = h('div', { class: 'alert-gaps' });
    replace(
      body,
      h('p', { class: 'alert-summary' }, a.summary),
      facts(
        [
          ['Running build', kernelLink(running.kernel, running.id)],
          upload
            ? [weak ? 'Later kernel (weak-updates)' : 'Upload', kernelLink(upload.kernel, upload.id)]
            : null,
          ['Affected module builds', num(a.affectedModules)],
          d.counts ? ['Verdicts', countsText(d.counts)] : null,
          ['Cause', h('code', null, a.cause)],
          ['Raised', when(a.createdAt)],
          upload
            ? [
                'Diff',
                h(
                  'a',
                  { href: route(`/kernels/${running.id}`, { diff: upload.id }) },
                  `${names(upload.id)} → ${names(running.id)}`,
                ),
              ]
            : null,
        ],
        { class: 'facts alert-facts' },
      ),
      h(
        'div',
        { class: 'alert-parts' },
        weak
          ? null
          : partSection(
              'in-tree',
              upload
                ? `The upload’s modules on ${names(running.id)}`
                : 'In-tree modules on the running build',
              upload
                ? `Hosts still running ${names(running.id)} that install ${names(upload.id)} get its module files under the same /lib/modules directory and load them until they reboot.`
                : 'Modules that replace the running build’s own.',
              d.inTree,
              names,
            ),
        partSection(
          'out-of-tree',
          upload
            ? `Out-of-tree modules built for ${names(running.id)}, on the upload`
            : 'Out-of-tree modules',
          weak
            ? `weak-modules links kmods built for ${names(running.id)} into ${names(upload.id)} when their CRCs still match: this is what they get on it after the reboot.`
            : 'Module packages built against the running build stay behind when the upload is installed: this is what they get on its kernel after the reboot.',
          d.outOfTree,
          names,
        ),
      ),
      firstLog.length
        ? [
            h('h2', null, 'What the kernel prints first'),
            h('pre', { class: 'kernel-log', 'aria-label': 'First kernel log lines' }, firstLog.join('\n')),
          ]
        : null,
      anyUnknownLoad ? gapsBox : null,
      table({
        caption: `Affected module builds${
          modules.length < a.affectedModules
            ? ` (first ${num(modules.length)} of ${num(a.affectedModules)}; the package links above list all)`
            : ''
        }`,
        head: ['Module', 'Package', 'Judged on', 'BTF', 'Load', 'ABI'],
        rows: modules.map((m) => {
          const on = m.kernelId ?? running.id;
          return [
            h('a', { href: route('/compat', { kernel: on, moduleBuild: m.id }) }, m.name),
            `${m.package}${m.version ? ` ${m.version}` : ''}`,
            names(on),
            verdictBadge(m.btf),
            loadBadge(m.load),
            m.abi ? abiBadge(m.abi) : '—',
          ];
        }),
        rowHeaders: true,
        className: 'data alert-modules',
      }),
    );
    // An unknown load turns on an input the build lacks: say which, from the coverage of the builds named.
    if (anyUnknownLoad) {
      try {
        const kernels = [...known.entries()].filter(([, k]) => k);
        const lists = await Promise.all(kernels.map(([, k]) => kernelGaps(k, signal)));
        replace(
          gapsBox,
          h('h2', null, 'Why some loads are unknown'),
          kernels.map(([kid, k], i) => [h('h3', null, kernelName(k, kid)), gapsList(lists[i])]),
        );
      } catch (err) {
        if (!isAbort(err)) replace(gapsBox, message('error', `Could not load coverage: ${err.message}`));
      }
    }
  })();
}
