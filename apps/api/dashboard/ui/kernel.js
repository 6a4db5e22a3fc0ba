/* global document, window, URLSearchParams */
// `#/kernels/ID`: one kernel build (base BTF identity, config, packages, verdict counts, alerts) and its
// diff against the previous build of the same flavour (`#/kernels/ID?diff=OTHER` picks another one).

import { ApiError, getJson, isAbort } from './api.js';
import { facts, h, heading, message, num, route, s, shortHash, table, when, replace } from './dom.js';
import { gapsList, kernelGaps } from './coverage.js';
import { BTF_VERDICTS, VERDICT, abiBadge, loadBadge, verdictBadge } from './verdicts.js';
import { newestFirst } from './versions.js';

const SIBLINGS_MAX = 1000;

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
  const unknown = counts.filter((c) => c.load === 'unknown').reduce((n, c) => n + c.count, 0);
  return [
    table({
      caption,
      head: ['BTF', 'Load', 'ABI', 'Module builds'],
      rows: sorted.map((c) => [
        kernelId
          ? h('a', { href: route('/compat', { kernel: kernelId, btf: c.btf }) }, verdictBadge(c.btf))
          : verdictBadge(c.btf),
        loadBadge(c.load, UNKNOWN_LOAD),
        abiBadge(c.abi),
        num(c.count),
      ]),
    }),
    unknown
      ? h(
          'p',
          { class: 'hint load-unknown-note' },
          `Load unknown for ${num(unknown)} module build${unknown === 1 ? '' : 's'}: ${UNKNOWN_LOAD}.`,
        )
      : null,
  ];
}

/** Why a count's load is unknown; each verdict's own reason is one click away (its evidence). */
const UNKNOWN_LOAD =
  'the outcome turns on an input the kernel build lacks (its config or its symbol CRCs; see what btfwatch cannot tell about it), and each verdict’s evidence names which';

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

/** Other builds of the same distro, arch and flavour with a base BTF, newest first (at most SIBLINGS_MAX). */
async function siblings(k, signal) {
  const found = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ distro: k.distro, arch: k.arch, limit: '200' });
    if (k.flavour) q.set('flavour', k.flavour);
    if (cursor) q.set('cursor', cursor);
    const page = await getJson(`/v1/kernels?${q}`, { signal });
    for (const c of page.items)
      if (c.id !== k.id && (c.flavour ?? null) === (k.flavour ?? null) && c.baseBtfSha256) found.push(c);
    cursor = page.nextCursor;
  } while (cursor && found.length < SIBLINGS_MAX);
  return found.sort(newestFirst);
}

async function renderDiff(box, k, params, signal) {
  replace(box, h('p', { role: 'status' }, 'Looking for the previous build of this flavour…'));
  const candidates = await siblings(k, signal);
  // The previous build is the newest one older than this (by package version, not by when it was ingested).
  const previous = candidates.find((c) => newestFirst(k, c) < 0);
  const chosen = Number(params.get('diff')) || previous?.id;
  if (!chosen) {
    replace(
      box,
      h('p', null, `No earlier ${k.flavour ?? ''} build of ${k.distro} ${k.arch} with BTF is known.`),
      candidates.length
        ? h(
            'p',
            null,
            'Newer builds of this flavour: ',
            candidates
              .slice(0, 10)
              .map((c, i) => [
                i ? ', ' : '',
                h('a', { href: route(`/kernels/${k.id}`, { diff: c.id }) }, `${c.release} (${c.version})`),
              ]),
          )
        : null,
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

  // The earlier build's module packages, for per-module evidence links; the diff stands without them.
  let evidenceLinks;
  try {
    const earlier = await getJson(`/v1/kernels/${a.id}`, { signal });
    const withModules = earlier.packages.filter((p) => p.modules > 0);
    evidenceLinks = withModules.length
      ? h(
          'p',
          { class: 'evidence-links' },
          'Per-module evidence: ',
          withModules.map((p, i) => [
            i ? ', ' : '',
            h(
              'a',
              { href: route('/compat', { kernel: b.id, package: p.name, version: p.version }) },
              `${p.name} ${p.version}`,
            ),
          ]),
        )
      : h('p', null, `${a.release} (${a.version}) has no module packages ingested.`);
  } catch (err) {
    if (isAbort(err)) return;
    evidenceLinks = message(
      'error',
      `Per-module evidence links unavailable: GET /v1/kernels/${a.id} failed: ${err.message}`,
    );
  }

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
    evidenceLinks,
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

/**
 * When the build was published, as the indexes say: the earliest index date (apt Release `Date:`, rpm
 * primary timestamp) of a scan that first listed one of its packages, and where. Published then or earlier.
 */
function published(k) {
  const dated = (k.locations ?? []).filter((l) => l.publishedAt);
  if (!dated.length)
    return h(
      'span',
      { class: 'unknown' },
      (k.locations ?? []).length
        ? 'unknown: the indexes listing it carry no date (or were read before btfwatch kept it)'
        : 'unknown: no mirror lists it',
    );
  const first = dated.reduce((a, b) => (Date.parse(b.publishedAt) < Date.parse(a.publishedAt) ? b : a));
  return [
    h('time', { datetime: first.publishedAt }, when(first.publishedAt)),
    h(
      'span',
      { class: 'muted' },
      ` (${first.suite}’s ${first.kind === 'apt' ? 'Release' : 'repository metadata'} of the scan that first listed it; published then or earlier)`,
    ),
  ];
}

/** Each mirror and suite that lists packages of the build, with when they were first and last seen. */
function locationsTable(k) {
  const locations = k.locations ?? [];
  if (!locations.length) return h('p', null, 'No mirror lists this build’s packages (any more).');
  return table({
    caption: `${locations.length} mirror suite${locations.length === 1 ? '' : 's'} carrying its packages`,
    head: ['Mirror', 'Suite', 'Packages', 'Published (index date)', 'First seen', 'Last listed'],
    rows: locations.map((l) => [
      h(
        'span',
        { class: 'mirror-url' },
        h('code', null, l.mirrorUrl),
        ` (${l.kind}${l.distro ? `, ${l.distro}` : ''})`,
      ),
      l.suite,
      `${num(l.packages)} of ${num(k.packages.length)}`,
      l.publishedAt ? when(l.publishedAt) : 'unknown',
      when(l.firstSeenAt),
      when(l.lastSeenAt),
    ]),
    className: 'data locations',
  });
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
    try {
      k = await getJson(`/v1/kernels/${id}`, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      replace(
        body,
        message(
          'error',
          err instanceof ApiError && err.status === 404
            ? `No kernel build #${id}.`
            : `Could not load kernel build #${id}: ${err.message}`,
        ),
      );
      return;
    }
    document.title = `${k.release} (${k.version}) · btfwatch`;
    title.textContent = `${k.release}`;
    sub.textContent = `${k.distro} ${k.arch}${k.flavour ? ` · flavour ${k.flavour}` : ''} · package version ${k.version} · kernel build #${k.id}`;

    const diffBox = h('div', { class: 'diff' });
    const alertsBox = h('div', null, h('p', { role: 'status' }, 'Loading alerts…'));
    const gapsBox = h('div', null, h('p', { role: 'status' }, 'Loading coverage…'));
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
          ['Suites', (k.suites ?? []).join(', ') || '—'],
          ['Published', published(k)],
          ['First seen by btfwatch', when(k.createdAt)],
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
      section('coverage-title', 'What btfwatch cannot tell about it', gapsBox),
      section('seen-title', 'Where it was seen', locationsTable(k)),
      section(
        'packages-title',
        'Packages',
        table({
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
      section(
        'verdicts-title',
        'Module builds on this kernel',
        verdictCountsTable(k.id, k.verdicts, 'Verdict counts (open one for the evidence)'),
      ),
      section('alerts-title', 'Alerts', alertsBox),
      section('diff-title', 'Diff against the previous build of this flavour', diffBox),
    );

    void kernelGaps(k, signal)
      .then((gaps) => replace(gapsBox, gapsList(gaps)))
      .catch((err) => {
        if (!isAbort(err)) replace(gapsBox, message('error', `Could not load coverage: ${err.message}`));
      });
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
