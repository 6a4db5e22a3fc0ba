/* global document */
// `#/alerts`: ABI-compatible uploads that break BTF, newest first; `#/alerts/ID`: one alert with its
// kernel and the affected module builds.

import { ApiError, getJson, isAbort } from './api.js';
import { facts, h, heading, message, num, route, table, when, replace } from './dom.js';
import { countsText, loadBadge, verdictBadge } from './verdicts.js';

const PAGE = 50;

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

export function alertsView({ main, signal }) {
  document.title = 'Alerts · btfwatch';
  const status = h('p', { role: 'status' }, 'Loading alerts…');
  const tbody = h('tbody');
  const tableEl = h(
    'table',
    { class: 'data alerts' },
    h('caption', null, 'Newest first'),
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
    tableEl,
    more,
  );
  let cursor = null;
  let count = 0;
  async function load() {
    more.disabled = true;
    try {
      const res = await getJson(`/v1/alerts?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { signal });
      for (const a of res.items) {
        tbody.append(
          h(
            'tr',
            { dataset: { alert: String(a.id) } },
            h('th', { scope: 'row' }, h('a', { href: route(`/alerts/${a.id}`) }, `#${a.id}`)),
            h('td', null, severity(a)),
            h('td', null, kernelLink(a)),
            h('td', null, num(a.affectedModules)),
            h('td', null, a.summary),
            h('td', null, when(a.createdAt)),
          ),
        );
      }
      count += res.items.length;
      cursor = res.nextCursor;
      more.hidden = !cursor;
      status.textContent = count
        ? `${num(count)} alert${count === 1 ? '' : 's'}${cursor ? ' (more available)' : ''}.`
        : 'No alerts. Every ABI-compatible upload so far keeps module BTF working.';
      tableEl.hidden = count === 0;
    } catch (err) {
      if (!isAbort(err)) replace(status, message('error', `Could not load alerts: ${err.message}`));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => void load());
  return load();
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
    const packages = [...new Set(modules.map((m) => m.package))];
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
            null,
            'All verdicts of ',
            packages.map((p, i) => [
              i ? ', ' : '',
              h('a', { href: route('/compat', { kernel: a.kernelId, package: p }) }, p),
            ]),
            ' on this kernel.',
          )
        : null,
      table({
        caption: `Affected module builds${modules.length < a.affectedModules ? ` (first ${modules.length})` : ''}`,
        head: ['Module', 'Package', 'BTF', 'Load'],
        rows: modules.map((m) => [
          h('a', { href: route('/compat', { kernel: a.kernelId, moduleBuild: m.id }) }, m.name),
          m.package,
          verdictBadge(m.btf),
          loadBadge(m.load),
        ]),
        rowHeaders: true,
      }),
    );
  })();
}
