/* global document, URLSearchParams */
import { getJson, isAbort } from './api.js';
import { facts, h, message, num, route, shortHash, replace } from './dom.js';
import { learnKernels, nameOf } from './names.js';
import { BTF_VERDICTS, abiBadge, countsText, loadBadge, verdictBadge, worstOf } from './verdicts.js';

const PAGE = 50;

function compatPath(sel, btf, cursor) {
  const q = new URLSearchParams({ kernel: String(sel.kernel), limit: String(PAGE) });
  if (sel.moduleBuild) q.set('moduleBuild', String(sel.moduleBuild));
  if (sel.package) q.set('package', sel.package);
  if (sel.version) q.set('version', sel.version);
  if (sel.module) q.set('module', sel.module);
  if (btf) q.set('btf', btf);
  if (cursor) q.set('cursor', cursor);
  return `/v1/compat?${q}`;
}

function baseText(base) {
  if (!base) return 'unknown';
  const parts = [shortHash(base.sha256)];
  if (base.how) parts.push(`inferred by ${base.how}`);
  if (base.nrTypes !== undefined) parts.push(`nr_types ${num(base.nrTypes)}, str_len ${num(base.strLen)}`);
  return parts.join(' · ');
}

function abiText(abi) {
  if (!abi) return null;
  const lines = [abi.reason ?? ''];
  if (abi.vermagicMatch === false) lines.push('vermagic differs');
  for (const m of (abi.mismatches ?? []).slice(0, 10))
    lines.push(typeof m === 'string' ? m : JSON.stringify(m));
  if ((abi.mismatchCount ?? 0) > 10) lines.push(`… ${abi.mismatchCount - 10} more`);
  return lines.filter(Boolean).join('; ');
}

function validationText(v) {
  if (!v) return null;
  if (v.ok) return 'passes the kernel’s checks';
  const where = v.typeId !== undefined ? ` at type [${v.typeId}]${v.kindName ? ` ${v.kindName}` : ''}` : '';
  return `${v.message ?? 'invalid'}${where}${v.code ? ` (${v.code}${v.errno ? `, ${v.errno}` : ''})` : ''}`;
}

function logBlock(label, lines, name) {
  return [
    h('p', { class: 'label' }, label),
    h('pre', { class: 'kernel-log', 'aria-label': `${label} for ${name}` }, lines.join('\n')),
  ];
}

/** One module build's verdict with everything that backs it. */
export function verdictItem(v, open) {
  const ev = v.evidence ?? {};
  const log = Array.isArray(ev.kernelLog) ? ev.kernelLog : [];
  const once = Array.isArray(ev.onceLog) ? ev.onceLog : [];
  return h(
    'details',
    { class: `verdict v-border-${v.btf}`, open, dataset: { module: v.module.name, btf: v.btf } },
    h(
      'summary',
      null,
      h('span', { class: 'mod-name' }, v.module.name),
      ' ',
      verdictBadge(v.btf),
      ' ',
      loadBadge(v.load, v.loadReason),
      ' ',
      abiBadge(v.abi),
    ),
    h(
      'div',
      { class: 'verdict-body' },
      h('p', { class: 'explanation' }, v.explanation),
      facts([
        ['Path', h('code', null, v.module.path)],
        ['Package', `${v.module.package} ${v.module.version}`],
        [
          'Load',
          v.load === 'unknown' ? `unknown: ${v.loadReason ?? 'no reason given'}` : (v.loadReason ?? v.load),
        ],
        ['ABI', abiText(ev.abi) ?? v.abi],
        ev.validation ? ['Validation', validationText(ev.validation)] : null,
        ['Build base', baseText(ev.buildBase)],
        ['Kernel base', baseText(ev.kernelBase)],
        v.module.kernelBuildId
          ? [
              'Ships with',
              h(
                'a',
                {
                  href: route(`/kernels/${v.module.kernelBuildId}`),
                  dataset: { kernelName: String(v.module.kernelBuildId) },
                },
                nameOf(v.module.kernelBuildId),
              ),
            ]
          : null,
      ]),
      log.length
        ? logBlock('Kernel log (predicted dmesg, verbatim)', log, v.module.name)
        : h(
            'p',
            { class: 'label' },
            'Kernel log: nothing — the kernel prints no BTF messages for this module.',
          ),
      once.length ? logBlock('Printed once per boot', once, v.module.name) : null,
      h(
        'details',
        { class: 'raw' },
        h('summary', null, 'All evidence (JSON)'),
        h('pre', { class: 'json' }, JSON.stringify(ev, null, 2)),
      ),
    ),
  );
}

/**
 * Verdicts of the selected module builds on one kernel: `sel` = { kernel, package?, version?, moduleBuild?,
 * module?, btf? }. `counts` (per btf verdict, e.g. from the matrix cell) adds verdict filters.
 * Returns { ready } resolving after the first page, with the verdict counts seen on it.
 */
export function renderEvidence(container, sel, { signal, counts, titleLevel = 'h2', permalink = true } = {}) {
  let filter = sel.btf ?? (counts && Object.keys(counts).length > 1 ? worstOf(counts) : null);
  let cursor = null;
  let shown = 0;
  const title = h(titleLevel, { class: 'evidence-title', tabindex: '-1' }, 'Verdicts');
  const sub = h('p', { class: 'evidence-sub' });
  const filters = h('div', { class: 'chips', role: 'group', 'aria-label': 'Show verdicts' });
  const list = h('div', { class: 'verdict-list', 'aria-live': 'polite', 'aria-busy': 'true' });
  const status = h('p', { class: 'evidence-status', role: 'status' }, 'Loading verdicts…');
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  replace(container, title, sub, filters, status, list, more);

  function drawFilters() {
    if (!counts || Object.keys(counts).length === 0) return filters.replaceChildren();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const chip = (key, label) =>
      h(
        'button',
        {
          type: 'button',
          class: `chip${key ? ` v-${key}` : ''}`,
          'aria-pressed': String(filter === key),
          onclick: () => {
            filter = key;
            drawFilters();
            void load(true);
          },
        },
        label,
      );
    replace(
      filters,
      chip(null, `all (${total})`),
      BTF_VERDICTS.filter((v) => counts[v.key]).map((v) =>
        chip(v.key, `${v.symbol} ${v.key} (${counts[v.key]})`),
      ),
    );
  }

  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));

  async function load(reset) {
    if (reset) {
      cursor = null;
      shown = 0;
      list.replaceChildren();
    }
    list.setAttribute('aria-busy', 'true');
    more.hidden = true;
    status.textContent = shown ? 'Loading more…' : 'Loading verdicts (computed now if never asked before)…';
    try {
      const res = await getJson(compatPath(sel, filter, cursor), { signal });
      const k = res.kernel;
      const what = sel.moduleBuild
        ? `Module build #${sel.moduleBuild}`
        : `${sel.package ?? sel.module ?? 'Modules'}${sel.version ? ` ${sel.version}` : ''}`;
      title.textContent = `${what} on ${k.release}`;
      replace(
        sub,
        'Kernel ',
        h('a', { href: route(`/kernels/${k.id}`) }, `${k.release} (${k.version})`),
        ` · ${k.distro} ${k.arch}${k.flavour ? ` ${k.flavour}` : ''}`,
        permalink
          ? [' · ', h('a', { href: route('/compat', { ...sel, btf: filter ?? undefined }) }, 'permalink')]
          : null,
      );
      const seen = {};
      res.items.forEach((v, i) => {
        seen[v.btf] = (seen[v.btf] ?? 0) + 1;
        list.append(verdictItem(v, shown === 0 && i === 0));
      });
      shown += res.items.length;
      cursor = res.nextCursor;
      // The builds the modules ship with, by release and version once looked up.
      void learnKernels(
        res.items.map((v) => v.module.kernelBuildId),
        signal,
      )
        .then(() => {
          for (const a of list.querySelectorAll('a[data-kernel-name]'))
            a.textContent = nameOf(Number(a.dataset.kernelName));
        })
        .catch(() => undefined);
      more.hidden = !cursor;
      status.textContent = shown
        ? `${shown} module build${shown === 1 ? '' : 's'} shown${filter ? ` (${filter})` : ''}${cursor ? '; more available' : ''}${counts ? ` — cell: ${countsText(counts)}` : ''}.`
        : 'No verdicts match.';
      resolveReady({ seen, kernel: k });
    } catch (err) {
      if (isAbort(err)) return;
      replace(status, message('error', `Could not load verdicts: ${err.message}`));
      resolveReady({ error: err });
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  more.addEventListener('click', () => void load(false));
  drawFilters();
  void load(true);
  return {
    ready,
    focus: () => title.focus(),
    /** Verdict counts learnt later (a cell computed on request): adds the verdict filters. */
    setCounts: (next) => {
      counts = next;
      drawFilters();
    },
  };
}

/** `#/compat?kernel=…&package=…&version=…` — the same evidence as a page of its own. */
export function compatView({ main, params, signal }) {
  const sel = Object.fromEntries(
    ['kernel', 'package', 'version', 'module', 'moduleBuild', 'btf'].map((k) => [
      k,
      params.get(k) ?? undefined,
    ]),
  );
  const box = h('section', { class: 'evidence page' });
  replace(main, box);
  if (!sel.kernel) {
    box.append(message('error', 'Name a kernel: #/compat?kernel=ID&package=NAME&version=VERSION'));
    return;
  }
  document.title = 'Verdicts · btfwatch';
  renderEvidence(box, sel, { signal, titleLevel: 'h1', permalink: false });
}
