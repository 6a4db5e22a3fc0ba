/* global document, window, URLSearchParams */
// `#/kernels/ID`: one kernel build (base BTF identity, config, packages, verdict counts, alerts) and its
// diff against the previous build of the same flavour (`#/kernels/ID?diff=OTHER` picks another one).

import { ApiError, getJson, isAbort } from './api.js';
import { facts, h, heading, message, num, route, s, shortHash, table, when, replace } from './dom.js';
import { BTF_VERDICTS, VERDICT, abiBadge, loadBadge, verdictBadge } from './verdicts.js';

const FLAGS = ['DEBUG_INFO_BTF', 'DEBUG_INFO_BTF_MODULES', 'MODULE_ALLOW_BTF_MISMATCH', 'MODVERSIONS'];

function yesNo(v) {
  if (v === undefined || v === null) return h('span', { class: 'flag unknown' }, 'unknown');
  return h('span', { class: `flag ${v ? 'yes' : 'no'}` }, v ? '✓ y (set)' : '✗ not set');
}

function delta(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number') return '—';
  const d = b - a;
  return d === 0 ? 'same' : `${d > 0 ? '+' : '−'}${num(Math.abs(d))}`;
}

function hex(n) {
  return typeof n === 'number' ? `0x${(n >>> 0).toString(16).padStart(8, '0')}` : '—';
}

function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id, class: 'card' }, h('h2', { id }, title), ...children);
}

function verdictCountsTable(kernelId, counts, caption) {
  if (!counts.length) return h('p', null, 'No module builds evaluated on this kernel yet.');
  const sorted = [...counts].sort(
    (a, b) => (VERDICT[a.btf]?.rank ?? 99) - (VERDICT[b.btf]?.rank ?? 99) || b.count - a.count,
  );
  return table({
    caption,
    head: ['BTF', 'Load', 'ABI', 'Module builds'],
    rows: sorted.map((c) => [
      kernelId
        ? h('a', { href: route('/compat', { kernel: kernelId, btf: c.btf }) }, verdictBadge(c.btf))
        : verdictBadge(c.btf),
      loadBadge(c.load),
      abiBadge(c.abi),
      num(c.count),
    ]),
  });
}

/** Horizontal bars for the change counts and one stacked bar for the earlier build's modules here. */
export function diffChart(diff) {
  const named = diff.base.named?.counts ?? {};
  const crcs = diff.crcs ?? {};
  const bars = [
    ['named types changed', named.changed],
    ['named types added', named.added],
    ['named types removed', named.removed],
    ['symbol CRCs changed', crcs.known ? crcs.changed : undefined],
    ['symbols added', crcs.known ? crcs.added : undefined],
    ['symbols removed', crcs.known ? crcs.removed : undefined],
  ].filter(([, v]) => typeof v === 'number');
  const W = 560;
  const LABEL = 170;
  const BAR = 300;
  const ROW = 22;
  const max = Math.max(1, ...bars.map(([, v]) => v));
  const summary = diff.modules?.summary ?? [];
  const byBtf = {};
  for (const c of summary) byBtf[c.btf] = (byBtf[c.btf] ?? 0) + c.count;
  const total = Object.values(byBtf).reduce((a, b) => a + b, 0);
  const stackY = bars.length * ROW + 34;
  const height = stackY + (total ? 60 : 10);
  const descParts = bars.map(([l, v]) => `${l}: ${v}`);
  if (total)
    descParts.push(
      `earlier build's modules here: ${BTF_VERDICTS.filter((v) => byBtf[v.key])
        .map((v) => `${byBtf[v.key]} ${v.key}`)
        .join(', ')}`,
    );

  const svg = s(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${W} ${height}`,
      width: String(W),
      height: String(height),
      role: 'img',
      'aria-labelledby': 'chart-title chart-desc',
    },
    s('title', { id: 'chart-title' }, 'Changes at a glance'),
    s('desc', { id: 'chart-desc' }, descParts.join('; ')),
  );
  bars.forEach(([label, value], i) => {
    const y = i * ROW + 4;
    const w = value === 0 ? 0 : Math.max(2, (value / max) * BAR);
    svg.append(
      s('text', { x: String(LABEL - 8), y: String(y + 14), class: 'label', 'text-anchor': 'end' }, label),
      s('rect', {
        x: String(LABEL),
        y: String(y + 3),
        width: String(w),
        height: '14',
        class: 'bar',
        rx: '2',
      }),
      s('text', { x: String(LABEL + w + 6), y: String(y + 14), class: 'value' }, num(value)),
    );
  });
  if (total) {
    svg.append(
      s(
        'text',
        { x: '0', y: String(stackY - 8), class: 'label' },
        `The earlier build’s ${num(total)} module builds on this kernel:`,
      ),
    );
    let x = 0;
    const full = W - 2;
    let lx = 0;
    for (const v of BTF_VERDICTS) {
      const n = byBtf[v.key];
      if (!n) continue;
      const w = (n / total) * full;
      svg.append(
        s('rect', {
          x: String(x),
          y: String(stackY),
          width: String(Math.max(1, w)),
          height: '18',
          class: `seg v-${v.key}`,
        }),
      );
      const text = `${v.symbol} ${n} ${v.key}`;
      svg.append(
        s('rect', {
          x: String(lx),
          y: String(stackY + 26),
          width: '10',
          height: '10',
          class: `seg v-${v.key}`,
        }),
        s('text', { x: String(lx + 14), y: String(stackY + 35), class: 'value' }, text),
      );
      lx += 14 + text.length * 7 + 16;
      x += w;
    }
  }
  return svg;
}

function namedList(title, items, count) {
  if (!count) return null;
  return h(
    'details',
    { class: 'named' },
    h(
      'summary',
      null,
      `${title}: ${num(count)}${items.length < count ? ` (first ${items.length} shown)` : ''}`,
    ),
    h(
      'ul',
      { class: 'mono-list' },
      items.map((t) => h('li', null, t)),
    ),
  );
}

async function renderDiff(box, k, params, signal) {
  replace(box, h('p', { role: 'status' }, 'Looking for the previous build of this flavour…'));
  const q = new URLSearchParams({ distro: k.distro, arch: k.arch, limit: '50', cursor: String(k.id) });
  if (k.flavour) q.set('flavour', k.flavour);
  const older = await getJson(`/v1/kernels?${q}`, { signal });
  const candidates = older.items.filter(
    (c) => (c.flavour ?? null) === (k.flavour ?? null) && c.baseBtfSha256,
  );
  const chosen = Number(params.get('diff')) || candidates[0]?.id;
  if (!chosen) {
    replace(
      box,
      h('p', null, `No earlier ${k.flavour ?? ''} build of ${k.distro} ${k.arch} with BTF is known.`),
    );
    return;
  }
  const status = h('p', { role: 'status' }, 'Computing the diff (both base BTFs are compared type by type)…');
  replace(box, status);
  let diff;
  try {
    diff = await getJson(`/v1/kernels/${chosen}/diff/${k.id}`, { signal });
  } catch (err) {
    if (isAbort(err)) return;
    replace(box, message('error', `Could not compute the diff: ${err.message}`));
    return;
  }
  const a = diff.from;
  const b = diff.to;
  const select = h(
    'select',
    {
      id: 'diff-with',
      onchange: (e) => {
        window.location.hash = route(`/kernels/${k.id}`, { diff: e.target.value });
      },
    },
    (candidates.some((c) => c.id === a.id) ? candidates : [a, ...candidates]).map((c) =>
      h('option', { value: String(c.id), selected: c.id === a.id }, `${c.release} (${c.version}) #${c.id}`),
    ),
  );
  const base = diff.base;
  const named = base.named?.counts;
  const crcs = diff.crcs;
  const rows = [
    [
      'Base BTF sha256',
      h('code', null, shortHash(a.baseBtfSha256)),
      h('code', null, shortHash(b.baseBtfSha256)),
      base.identical ? 'identical' : 'different',
    ],
    ['nr_types', num(a.nrTypes), num(b.nrTypes), delta(a.nrTypes, b.nrTypes)],
    ['str_len', num(a.strLen), num(b.strLen), delta(a.strLen, b.strLen)],
  ];
  if (typeof base.changedTypeIds === 'number')
    rows.push(['Same-id types whose meaning changed', '', '', num(base.changedTypeIds)]);
  if (typeof base.changedStringRanges === 'number')
    rows.push(['Changed string ranges', '', '', num(base.changedStringRanges)]);
  if (named) {
    rows.push(['Named types changed', '', '', num(named.changed)]);
    rows.push(['Named types added', '', '', num(named.added)]);
    rows.push(['Named types removed', '', '', num(named.removed)]);
  }
  if (crcs.known) {
    rows.push([
      'Exported symbols (CRC changed)',
      num(a.exportedSymbols),
      num(b.exportedSymbols),
      num(crcs.changed),
    ]);
    rows.push(['Exported symbols added / removed', '', '', `+${num(crcs.added)} / −${num(crcs.removed)}`]);
  } else rows.push(['Exported symbol CRCs', '', '', 'unknown (no Module.symvers for one side)']);
  rows.push(['Earlier build’s module builds evaluated here', '', '', num(diff.modules?.evaluated ?? 0)]);

  const prevPackages = await getJson(`/v1/kernels/${a.id}`, { signal })
    .then((d) => d.packages.filter((p) => p.modules > 0))
    .catch(() => []);

  replace(
    box,
    h(
      'p',
      { class: 'diff-pick' },
      h('label', { for: 'diff-with' }, 'Compared with '),
      select,
      ' → ',
      h('a', { href: route(`/kernels/${a.id}`) }, `open ${a.release} (${a.version})`),
    ),
    h(
      'div',
      { class: 'diff-grid' },
      table({
        caption: `${a.release} (${a.version}) → ${b.release} (${b.version})`,
        head: ['Measure', a.version, b.version, 'Change'],
        rows,
        className: 'data diff-table',
        rowHeaders: true,
      }),
      h(
        'figure',
        { class: 'chart-box' },
        diffChart(diff),
        h('figcaption', null, 'Change counts, and what the earlier build’s modules get on this kernel'),
      ),
    ),
    h('h3', null, `What happens to ${a.release} (${a.version})’s modules on this kernel`),
    verdictCountsTable(
      null,
      diff.modules?.summary ?? [],
      `Module builds of ${a.release} evaluated on ${b.release}`,
    ),
    prevPackages.length
      ? h(
          'p',
          null,
          'Per-module evidence: ',
          prevPackages.map((p, i) => [
            i ? ', ' : '',
            h(
              'a',
              { href: route('/compat', { kernel: b.id, package: p.name, version: p.version }) },
              `${p.name} ${p.version}`,
            ),
          ]),
        )
      : null,
    named ? h('h3', null, 'Named type changes') : null,
    named ? namedList('Changed', base.named.changed ?? [], named.changed) : null,
    named ? namedList('Added', base.named.added ?? [], named.added) : null,
    named ? namedList('Removed', base.named.removed ?? [], named.removed) : null,
    crcs.known && crcs.examples?.length
      ? table({
          caption: `Symbol CRC changes (first ${crcs.examples.length})`,
          head: ['Symbol', a.version, b.version],
          rows: crcs.examples.map((c) => [h('code', null, c.symbol), hex(c.before), hex(c.after)]),
          className: 'data crc-table',
        })
      : null,
  );
}

export function kernelView({ main, match, params, signal }) {
  const id = Number(match[1]);
  const title = heading(`Kernel build #${id}`);
  const sub = h('p', { class: 'subtitle' });
  const body = h('div', { class: 'kernel-page' }, h('p', { role: 'status' }, 'Loading…'));
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: route('/matrix') }, '← Matrix')),
    title,
    sub,
    body,
  );
  document.title = `Kernel #${id} · btfwatch`;

  return (async () => {
    let k;
    let detailError = null;
    try {
      k = await getJson(`/v1/kernels/${id}`, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      if (err instanceof ApiError && err.status === 404) {
        replace(body, message('error', `No kernel build #${id}.`));
        return;
      }
      // The detail endpoint failed: show what the list endpoint knows, and say what is missing.
      detailError = err;
      const list = await getJson(`/v1/kernels?limit=1&cursor=${id + 1}`, { signal }).catch(() => null);
      k = list?.items[0]?.id === id ? list.items[0] : null;
      if (!k) {
        replace(body, message('error', `Could not load kernel #${id}: ${err.message}`));
        return;
      }
    }
    document.title = `${k.release} (${k.version}) · btfwatch`;
    title.textContent = `${k.release}`;
    sub.textContent = `${k.distro} ${k.arch}${k.flavour ? ` · flavour ${k.flavour}` : ''} · package version ${k.version} · kernel build #${k.id}`;

    const diffBox = h('div', { class: 'diff' });
    const alertsBox = h('div', null, h('p', { role: 'status' }, 'Loading alerts…'));
    const verdictsBox = h('div');
    if (k.verdicts)
      replace(
        verdictsBox,
        verdictCountsTable(k.id, k.verdicts, 'Verdict counts (open one for the evidence)'),
      );
    else
      void getJson(`/v1/compat?kernel=${k.id}&limit=1`, { signal })
        .then((res) =>
          replace(
            verdictsBox,
            table({
              caption: 'Verdict counts (open one for the evidence)',
              head: ['BTF', 'Module builds'],
              rows: Object.entries(res.summary)
                .sort((a, b) => (VERDICT[a[0]]?.rank ?? 99) - (VERDICT[b[0]]?.rank ?? 99))
                .map(([btf, n]) => [
                  h('a', { href: route('/compat', { kernel: k.id, btf }) }, verdictBadge(btf)),
                  num(n),
                ]),
            }),
          ),
        )
        .catch((err) => {
          if (!isAbort(err))
            replace(verdictsBox, message('error', `Could not load verdict counts: ${err.message}`));
        });
    replace(
      body,
      section(
        'identity-title',
        'Identity',
        facts([
          ['Release (uname -r)', h('code', null, k.release)],
          ['Package version', k.version],
          ['Kernel version', k.kernelVersion ?? '—'],
          [
            'Base BTF sha256',
            k.baseBtfSha256 ? h('code', { class: 'hash' }, k.baseBtfSha256) : 'not ingested yet',
          ],
          ['nr_types', num(k.nrTypes)],
          ['str_len', num(k.strLen)],
          ['vermagic', k.vermagic ? h('code', null, k.vermagic) : '—'],
          ['Exported symbols', num(k.exportedSymbols)],
          ['Suites where seen', (k.suites ?? []).join(', ') || '—'],
          ['First seen', when(k.createdAt)],
          ['Evaluated', when(k.evaluatedAt)],
        ]),
        h(
          'p',
          { class: 'hint' },
          'A booted host names its kernel by ',
          h('code', null, 'sha256sum /sys/kernel/btf/vmlinux'),
          '.',
        ),
      ),
      section(
        'config-title',
        'Config flags',
        table({
          caption: 'Options the predictions depend on',
          head: ['Option', 'Value'],
          rows: FLAGS.map((f) => [h('code', null, `CONFIG_${f}`), yesNo(k.config?.[f])]),
          rowHeaders: true,
        }),
      ),
      section(
        'packages-title',
        'Packages',
        detailError
          ? message('error', `Packages unavailable: GET /v1/kernels/${id} failed: ${detailError.message}`)
          : table({
              caption: `${k.packages.length} package${k.packages.length === 1 ? '' : 's'} of this build`,
              head: ['Package', 'Version', 'Role', 'vmlinuz', 'Modules', 'sha256'],
              rows: k.packages.map((p) => [
                p.modules > 0
                  ? h(
                      'a',
                      { href: route('/compat', { kernel: k.id, package: p.name, version: p.version }) },
                      p.name,
                    )
                  : p.name,
                p.version,
                p.role,
                p.hasVmlinuz ? 'yes' : 'no',
                num(p.modules),
                h('code', { title: p.sha256 }, shortHash(p.sha256)),
              ]),
            }),
      ),
      section('verdicts-title', 'Module builds on this kernel', verdictsBox),
      section('alerts-title', 'Alerts', alertsBox),
      section('diff-title', 'Diff against the previous build of this flavour', diffBox),
    );

    void getJson(`/v1/alerts?kernel=${k.id}&limit=50`, { signal })
      .then((res) =>
        replace(
          alertsBox,
          res.items.length
            ? h(
                'ul',
                { class: 'alert-list' },
                res.items.map((a) =>
                  h(
                    'li',
                    null,
                    h('span', { class: `severity sev-${a.severity}` }, a.severity),
                    ' ',
                    h('a', { href: route(`/alerts/${a.id}`) }, a.summary),
                  ),
                ),
              )
            : h('p', null, 'No alerts for this kernel build.'),
        ),
      )
      .catch((err) => {
        if (!isAbort(err)) replace(alertsBox, message('error', `Could not load alerts: ${err.message}`));
      });
    if (k.baseBtfSha256)
      await renderDiff(diffBox, k, params, signal).catch((err) => {
        if (!isAbort(err)) replace(diffBox, message('error', `Could not load the diff: ${err.message}`));
      });
    else replace(diffBox, h('p', null, 'No base BTF ingested for this build yet.'));
  })();
}
