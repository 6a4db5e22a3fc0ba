/* global document, window, history, performance, requestAnimationFrame, setTimeout, clearTimeout, AbortController, URLSearchParams */
// Kernel builds (rows, grouped by distro / suites / flavour, newest package version first) × module packages
// (columns), each cell coloured by its worst BTF verdict. Rows and columns are virtualised: only the cells in view (plus a
// margin) exist in the DOM, so hundreds of kernel builds × hundreds of packages stay responsive. The table
// keeps grid semantics (aria-rowcount/colcount, aria-rowindex/colindex) and one roving tab stop.

import { getJson, isAbort } from './api.js';
import { h, message, num, route, replace } from './dom.js';
import { renderEvidence } from './evidence.js';
import { jobsStrip } from './jobs.js';
import { BTF_VERDICTS, VERDICT, countsText, legend, verdictBadge } from './verdicts.js';
import { compareVersions, newestFirst } from './versions.js';

const ROW_H = 28;
/** Narrowest column (a symbol per cell); columns widen to share a wide screen among few packages. */
const COL_W_MIN = 34;
/** From this width a cell names its counts and a column header reads across. */
const COL_W_WIDE = 110;
/** Header height with vertical labels, and with wide columns' labels reading across (style.css says the same). */
const HEAD_H = 190;
const HEAD_H_WIDE = 72;
const ROWHEAD_W_MIN = 270;
const ROWHEAD_W_MAX = 420;
/** Room kept for a vertical scrollbar, so filling the width never adds a horizontal one. */
const SCROLLBAR_ROOM = 18;
const OVERSCAN_ROWS = 8;
const OVERSCAN_COLS = 4;
const PAGE = 100;
const SERVER_FILTERS = ['distro', 'suite', 'flavour', 'arch'];

function groupKey(k) {
  return `${k.distro}\u0000${(k.suites ?? []).join(', ')}\u0000${k.flavour ?? ''}\u0000${k.arch}`;
}

function groupLabel(k) {
  const suites = (k.suites ?? []).join(', ') || 'no suite';
  return `${k.distro} · ${suites} · ${k.flavour ?? 'no flavour'}${k.flavour === k.arch ? '' : ` (${k.arch})`}`;
}

/** linux-image-6.1.0-56-amd64-unsigned → ['6.1.0-56-amd64-unsigned', 'linux-image']: the distinguishing part first. */
function splitPackage(name) {
  const m = /^(linux-(?:image|modules|binary|base|headers)(?:-unsigned)?)-(\d.*)$/.exec(name);
  return m ? [m[2], m[1]] : [name, ''];
}

export function matrixView({ main, params, signal }) {
  document.title = 'Matrix · btfwatch';
  const filters = Object.fromEntries(SERVER_FILTERS.map((k) => [k, params.get(k) ?? '']));
  let q = params.get('q') ?? '';
  // `verdict=rejected,corrupt`: only kernel builds and packages with a module build of these verdicts.
  const verdicts = (params.get('verdict') ?? '').split(',').filter((v) => VERDICT[v]);
  const state = {
    kernels: new Map(),
    columns: new Map(),
    cells: new Map(),
    cursor: undefined,
    loading: false,
    error: null,
    /** kernel id → its alert mark (from the matrix answer: complete however many alerts exist). */
    alerts: new Map(),
  };
  const seenValues = Object.fromEntries(SERVER_FILTERS.map((k) => [k, new Set()]));

  // ----- layout -----
  const summary = h('p', { class: 'matrix-summary', role: 'status' }, 'Loading kernel builds…');
  const notice = h('div', { class: 'matrix-notice' });
  const datalists = SERVER_FILTERS.map((k) => h('datalist', { id: `dl-${k}` }));
  const inputs = Object.fromEntries(
    SERVER_FILTERS.map((k) => [
      k,
      h('input', {
        id: `f-${k}`,
        name: k,
        value: filters[k],
        list: `dl-${k}`,
        autocomplete: 'off',
        size: '12',
      }),
    ]),
  );
  const qInput = h('input', {
    id: 'f-q',
    name: 'q',
    type: 'search',
    value: q,
    placeholder: 'e.g. linux-image-6.1',
    autocomplete: 'off',
    size: '22',
  });
  const verdictBoxes = h(
    'fieldset',
    { class: 'verdict-filter' },
    h('legend', null, 'Only builds and packages with'),
    BTF_VERDICTS.map((v) =>
      h(
        'label',
        { class: `verdict-choice v-text-${v.key}` },
        h('input', {
          type: 'checkbox',
          name: 'verdict',
          value: v.key,
          checked: verdicts.includes(v.key),
        }),
        h('span', { 'aria-hidden': 'true' }, v.symbol),
        ` ${v.key}`,
      ),
    ),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter the matrix' },
    SERVER_FILTERS.map((k) => h('span', { class: 'field' }, h('label', { for: `f-${k}` }, k), inputs[k])),
    h('span', { class: 'field' }, h('label', { for: 'f-q' }, 'package name contains'), qInput),
    verdictBoxes,
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    h('a', { href: route('/matrix'), class: 'clear' }, 'Clear'),
    datalists,
  );
  const corner = h(
    'th',
    { class: 'corner', scope: 'col' },
    h('span', null, 'Kernel build'),
    h('span', { class: 'corner-cols' }, 'module package →'),
  );
  const headRow = h('tr', { 'aria-rowindex': '1', class: 'head' });
  const thead = h('thead', null, headRow);
  const tbody = h('tbody');
  const grid = h(
    'table',
    { class: 'matrix', role: 'grid', 'aria-labelledby': 'matrix-title', 'aria-describedby': 'matrix-help' },
    thead,
    tbody,
  );
  const scroller = h('div', { class: 'grid-scroll' }, grid);
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more kernel builds');
  const tip = h('div', { class: 'tip', role: 'tooltip', id: 'matrix-tip', hidden: true });
  const panelBody = h('div', { class: 'panel-body' });
  const panelClose = h(
    'button',
    { type: 'button', class: 'close', 'aria-label': 'Close evidence' },
    '✕ Close',
  );
  const panel = h(
    'aside',
    { class: 'evidence-panel evidence', hidden: true, 'aria-label': 'Evidence for the selected cell' },
    panelClose,
    panelBody,
  );
  replace(
    main,
    h('h1', { id: 'matrix-title', tabindex: '-1' }, 'Kernel builds × module packages'),
    jobsStrip(signal, { onIdle: () => onJobsIdle() }),
    form,
    legend(),
    h(
      'p',
      { id: 'matrix-help', class: 'help' },
      'Rows are kernel builds, newest first, grouped by distro, suites and flavour; columns are module packages. ' +
        'Arrow keys move between cells; Enter opens the evidence of a cell; Escape closes it.',
    ),
    summary,
    notice,
    scroller,
    more,
    tip,
    panel,
  );

  // ----- data -----
  let rows = [];
  let cols = [];
  let kernelRows = [];
  let focus = { k: 0, c: 0 };
  let win = null;
  let colW = COL_W_MIN;
  let rowheadW = ROWHEAD_W_MIN;
  let wide = false;
  let headH = HEAD_H;

  /** Column and row-header widths that fill the scroller's width (DESIGN: hundreds of columns scroll instead). */
  function sizeColumns() {
    const avail = (scroller.clientWidth || main.clientWidth || window.innerWidth) - SCROLLBAR_ROOM;
    rowheadW = Math.round(Math.min(ROWHEAD_W_MAX, Math.max(ROWHEAD_W_MIN, avail * 0.16)));
    colW = cols.length ? Math.max(COL_W_MIN, Math.floor((avail - rowheadW) / cols.length)) : COL_W_MIN;
    wide = colW >= COL_W_WIDE;
    headH = wide ? HEAD_H_WIDE : HEAD_H;
    grid.classList.toggle('wide', wide);
    grid.style.width = `${rowheadW + cols.length * colW}px`;
  }

  function matrixPath(extra) {
    const p = new URLSearchParams();
    for (const k of SERVER_FILTERS) if (filters[k]) p.set(k, filters[k]);
    for (const v of verdicts) p.append('verdict', v);
    for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) p.set(k, String(v));
    return `/v1/matrix?${p}`;
  }

  function merge(res, replaceKernel) {
    for (const k of res.kernels) {
      state.kernels.set(k.id, k);
      seenValues.distro.add(k.distro);
      seenValues.arch.add(k.arch);
      if (k.flavour) seenValues.flavour.add(k.flavour);
      for (const s of k.suites ?? []) seenValues.suite.add(s);
    }
    for (const c of res.columns) state.columns.set(c.key, c);
    // A refreshed row replaces its cells in the columns the answer covers (a verdict filter may leave some out).
    if (replaceKernel !== undefined)
      for (const c of res.columns) state.cells.delete(`${replaceKernel}|${c.key}`);
    for (const c of res.cells) state.cells.set(`${c.kernelId}|${c.column}`, c);
    for (const k of res.kernels) state.alerts.delete(k.id);
    for (const a of res.alerts ?? []) state.alerts.set(a.kernelId, a);
    SERVER_FILTERS.forEach((k, i) =>
      datalists[i].replaceChildren(...[...seenValues[k]].sort().map((v) => h('option', { value: v }))),
    );
  }

  async function loadPage() {
    if (state.loading || state.cursor === null) return;
    state.loading = true;
    more.disabled = true;
    summary.textContent = state.kernels.size ? 'Loading more kernel builds…' : 'Loading kernel builds…';
    try {
      const started = performance.now();
      const res = await getJson(matrixPath({ limit: PAGE, cursor: state.cursor }), { signal });
      merge(res);
      state.cursor = res.nextCursor;
      state.error = null;
      relayout();
      grid.dataset.renderMs = String(Math.round(performance.now() - started));
    } catch (err) {
      if (isAbort(err)) return;
      state.error = err;
      replace(summary, message('error', `Could not load the matrix: ${err.message}`));
    } finally {
      state.loading = false;
      more.disabled = false;
    }
  }

  /** One kernel's row again (after verdicts were computed on request). */
  async function refreshKernel(kernelId) {
    const res = await getJson(matrixPath({ limit: 1, cursor: kernelId + 1 }), { signal });
    if (res.kernels[0]?.id !== kernelId) return;
    merge(res, kernelId);
    relayout();
  }

  function onJobsIdle() {
    if (state.kernels.size === 0) return void reload();
    replace(
      notice,
      h(
        'p',
        { class: 'message info', role: 'status' },
        'Jobs finished; the matrix may have changed. ',
        h('button', { type: 'button', onclick: () => void reload() }, 'Reload the matrix'),
      ),
    );
  }

  async function reload() {
    notice.replaceChildren();
    state.kernels.clear();
    state.columns.clear();
    state.cells.clear();
    state.alerts.clear();
    state.cursor = undefined;
    await loadPage();
  }

  function columnMatches(c) {
    if (!q) return true;
    const needle = q.toLowerCase();
    return (
      c.package.toLowerCase().includes(needle) || `${c.package} ${c.version}`.toLowerCase().includes(needle)
    );
  }

  /** In-tree module packages in the order of their kernel builds (newest first), then the others by name. */
  function columnOrder(a, b) {
    const ka = a.kernelId === null ? undefined : state.kernels.get(a.kernelId);
    const kb = b.kernelId === null ? undefined : state.kernels.get(b.kernelId);
    if (ka && kb && ka !== kb) return newestFirst(ka, kb);
    if (ka && !kb) return -1;
    if (kb && !ka) return 1;
    return a.package.localeCompare(b.package) || compareVersions(b.version, a.version);
  }

  function relayout() {
    const t0 = performance.now();
    const groups = new Map();
    for (const k of state.kernels.values()) {
      const key = groupKey(k);
      const g = groups.get(key) ?? { label: groupLabel(k), kernels: [], newest: 0 };
      g.kernels.push(k);
      g.newest = Math.max(g.newest, k.id);
      groups.set(key, g);
    }
    rows = [];
    kernelRows = [];
    for (const g of [...groups.values()].sort((a, b) => b.newest - a.newest)) {
      rows.push({ type: 'group', label: g.label, count: g.kernels.length });
      for (const k of g.kernels.sort(newestFirst)) {
        kernelRows.push(rows.length);
        rows.push({ type: 'kernel', kernel: k });
      }
    }
    cols = [...state.columns.values()].filter(columnMatches).sort(columnOrder);
    focus.k = Math.min(focus.k, Math.max(0, kernelRows.length - 1));
    focus.c = Math.min(focus.c, cols.length - 1);
    grid.setAttribute('aria-rowcount', String(rows.length + 1));
    grid.setAttribute('aria-colcount', String(cols.length + 1));
    scroller.hidden = state.kernels.size === 0;
    sizeColumns();
    more.hidden = state.cursor === null || state.kernels.size === 0;
    more.textContent = `Load more kernel builds (${num(state.kernels.size)} loaded)`;
    win = null;
    renderWindow();
    updateSummary();
    grid.dataset.layoutMs = String(Math.round(performance.now() - t0));
  }

  function updateSummary() {
    if (state.error) return;
    const n = state.kernels.size;
    if (n === 0) {
      const filtered = SERVER_FILTERS.some((k) => filters[k]) || verdicts.length > 0;
      summary.textContent = filtered
        ? 'No kernel builds with BTF match these filters.'
        : 'No kernel builds with BTF yet. Add a mirror and scan it (POST /v1/mirrors, then /v1/mirrors/{id}/scan).';
      return;
    }
    const all = state.columns.size;
    summary.textContent =
      `${num(n)} kernel build${n === 1 ? '' : 's'}${state.cursor === null ? '' : ' loaded (more below)'} × ` +
      `${num(cols.length)} module package${cols.length === 1 ? '' : 's'}` +
      (q ? ` matching “${q}” (of ${num(all)})` : '') +
      (verdicts.length ? `, with ${verdicts.join(' or ')} module builds` : '') +
      '.';
  }

  // ----- virtual window -----
  function windowNow() {
    const top = Math.max(0, scroller.scrollTop - headH);
    const height = scroller.clientHeight || 600;
    const width = scroller.clientWidth || 1000;
    const r0 = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN_ROWS);
    const r1 = Math.min(rows.length, Math.ceil((top + height) / ROW_H) + OVERSCAN_ROWS);
    const c0 = Math.max(0, Math.floor(scroller.scrollLeft / colW) - OVERSCAN_COLS);
    const c1 = Math.min(
      cols.length,
      Math.ceil((scroller.scrollLeft + width - rowheadW) / colW) + OVERSCAN_COLS,
    );
    return { r0, r1, c0, c1 };
  }

  function spacerCells(tag, c0, c1) {
    const left = c0 > 0 ? h(tag, { class: 'spacer', 'aria-hidden': 'true' }) : null;
    const right = c1 < cols.length ? h(tag, { class: 'spacer', 'aria-hidden': 'true' }) : null;
    if (left) left.style.width = `${c0 * colW}px`;
    if (right) right.style.width = `${(cols.length - c1) * colW}px`;
    return [left, right];
  }

  function columnHeader(c, j) {
    const [main1, kind] = splitPackage(c.package);
    const th = h(
      'th',
      {
        scope: 'col',
        class: 'col',
        'aria-colindex': String(j + 2),
        dataset: { package: c.package, version: c.version },
        title: `${c.package} ${c.version}`,
      },
      h('span', { class: 'sr-only' }, `${c.package} ${c.version}`),
      h(
        'span',
        { class: 'col-label', 'aria-hidden': 'true' },
        h('span', { class: 'col-main' }, main1),
        h('span', { class: 'col-sub' }, `${kind ? `${kind} · ` : ''}${c.version}`),
      ),
    );
    // Through the CSSOM: the page's CSP refuses style attributes.
    th.style.width = `${colW}px`;
    return th;
  }

  function cellLabel(k, c, cell) {
    const own = c.kernelId === k.id ? ' (its own modules)' : '';
    return cell
      ? `${k.release} × ${c.package} ${c.version}${own}: ${cell.worst} — ${countsText(cell.counts)}`
      : `${k.release} × ${c.package} ${c.version}${own}: not evaluated`;
  }

  function kernelRow(item, i, w, tabFocus) {
    const k = item.kernel;
    const mark = state.alerts.get(k.id);
    const link = h(
      'a',
      {
        href: route(`/kernels/${k.id}`),
        tabindex: tabFocus && focus.c === -1 ? '0' : '-1',
        dataset: { c: '-1' },
      },
      k.release,
    );
    const rowHead = h(
      'th',
      { scope: 'row', class: 'rowhead', 'aria-colindex': '1' },
      link,
      h('span', { class: 'version' }, ` ${k.version}`),
      mark
        ? h(
            'a',
            {
              href: route(`/alerts/${mark.alertId}`),
              class: `alert-mark sev-${mark.severity}`,
              tabindex: '-1',
              title: mark.count > 1 ? `${mark.summary} (+${mark.count - 1} more alerts)` : mark.summary,
              'aria-label': `${mark.severity} alert${mark.count > 1 ? ` (1 of ${mark.count})` : ''}: ${mark.summary}`,
              dataset: { count: String(mark.count) },
            },
            mark.count > 1 ? `⚠${mark.count}` : '⚠',
          )
        : null,
    );
    const [left, right] = spacerCells('td', w.c0, w.c1);
    const cells = [];
    for (let j = w.c0; j < w.c1; j++) {
      const c = cols[j];
      const cell = state.cells.get(`${k.id}|${c.key}`);
      const verdict = cell ? VERDICT[cell.worst] : null;
      const classes = ['cell', cell ? `v-${cell.worst}` : 'not-evaluated'];
      if (c.kernelId === k.id) classes.push('own');
      cells.push(
        h(
          'td',
          {
            class: classes.join(' '),
            'aria-colindex': String(j + 2),
            'aria-label': cellLabel(k, c, cell),
            tabindex: tabFocus && focus.c === j ? '0' : '-1',
            dataset: { c: String(j), worst: cell?.worst ?? '' },
          },
          h('span', { class: 'sym', 'aria-hidden': 'true' }, verdict?.symbol ?? ''),
          wide && cell
            ? h('span', { class: 'counts', 'aria-hidden': 'true' }, countsText(cell.counts))
            : null,
        ),
      );
    }
    return h(
      'tr',
      {
        class: 'kernel',
        'aria-rowindex': String(i + 2),
        dataset: { r: String(i), kernel: String(k.id), release: k.release },
      },
      rowHead,
      left,
      cells,
      right,
    );
  }

  function renderWindow(force = false) {
    const w = windowNow();
    if (!force && win && w.r0 === win.r0 && w.r1 === win.r1 && w.c0 === win.c0 && w.c1 === win.c1) return;
    const hadFocus = grid.contains(document.activeElement);
    win = w;
    // Keep exactly one tab stop: if the focused cell scrolled away while the grid was not focused, the
    // first kernel row in view takes it.
    const focusRow = kernelRows[focus.k];
    const inView =
      focusRow !== undefined &&
      focusRow >= w.r0 &&
      focusRow < w.r1 &&
      (focus.c < 0 || (focus.c >= w.c0 && focus.c < w.c1));
    if (!inView && !hadFocus && kernelRows.length) {
      const top = Math.ceil(Math.max(0, scroller.scrollTop - headH) / ROW_H);
      const k = kernelRows.findIndex((r) => r >= top);
      focus = {
        k: k < 0 ? kernelRows.length - 1 : k,
        c: cols.length ? Math.min(cols.length - 1, Math.ceil(scroller.scrollLeft / colW)) : -1,
      };
    }
    const [hl, hr] = spacerCells('th', w.c0, w.c1);
    const heads = [];
    for (let j = w.c0; j < w.c1; j++) heads.push(columnHeader(cols[j], j));
    corner.style.width = `${rowheadW}px`;
    replace(headRow, ...[corner, hl, ...heads, hr].filter(Boolean));
    const span = 1 + (hl ? 1 : 0) + (w.c1 - w.c0) + (hr ? 1 : 0);
    const body = [];
    if (w.r0 > 0) {
      const td = h('td', { colspan: String(span) });
      const tr = h('tr', { class: 'spacer', 'aria-hidden': 'true' }, td);
      tr.style.height = `${w.r0 * ROW_H}px`;
      body.push(tr);
    }
    for (let i = w.r0; i < w.r1; i++) {
      const item = rows[i];
      if (item.type === 'group') {
        body.push(
          h(
            'tr',
            { class: 'group', 'aria-rowindex': String(i + 2) },
            h(
              'th',
              { scope: 'rowgroup', colspan: String(span) },
              h('span', null, `${item.label} — ${item.count} build${item.count === 1 ? '' : 's'}`),
            ),
          ),
        );
      } else body.push(kernelRow(item, i, w, kernelRows[focus.k] === i));
    }
    if (w.r1 < rows.length) {
      const td = h('td', { colspan: String(span) });
      const tr = h('tr', { class: 'spacer', 'aria-hidden': 'true' }, td);
      tr.style.height = `${(rows.length - w.r1) * ROW_H}px`;
      body.push(tr);
    }
    replace(tbody, ...body);
    if (hadFocus) focusElement()?.focus({ preventScroll: true });
    // Near the end of what is loaded: fetch the next page.
    if (w.r1 >= rows.length - OVERSCAN_ROWS && state.cursor && !state.loading && !state.error)
      void loadPage();
  }

  function focusElement() {
    const r = kernelRows[focus.k];
    return grid.querySelector(`tr[data-r="${r}"] [data-c="${focus.c}"]`);
  }

  function moveFocus(k, c) {
    if (!kernelRows.length) return;
    focus = {
      k: Math.max(0, Math.min(kernelRows.length - 1, k)),
      c: Math.max(-1, Math.min(cols.length - 1, c)),
    };
    const top = headH + kernelRows[focus.k] * ROW_H;
    if (top - headH < scroller.scrollTop) scroller.scrollTop = top - headH;
    else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight)
      scroller.scrollTop = top + ROW_H - scroller.clientHeight;
    if (focus.c >= 0) {
      const left = rowheadW + focus.c * colW;
      if (left - rowheadW < scroller.scrollLeft) scroller.scrollLeft = left - rowheadW;
      else if (left + colW > scroller.scrollLeft + scroller.clientWidth)
        scroller.scrollLeft = left + colW - scroller.clientWidth;
    }
    renderWindow(true);
    const el = focusElement();
    for (const old of grid.querySelectorAll('[tabindex="0"]'))
      if (old !== el) old.setAttribute('tabindex', '-1');
    el?.setAttribute('tabindex', '0');
    el?.focus({ preventScroll: true });
  }

  const visibleRows = () => Math.max(1, Math.floor((scroller.clientHeight - headH) / ROW_H) - 1);

  grid.addEventListener('keydown', (e) => {
    const target = e.target.closest('[data-c]');
    if (!target) return;
    let { k, c } = focus;
    switch (e.key) {
      case 'ArrowDown':
        k += 1;
        break;
      case 'ArrowUp':
        k -= 1;
        break;
      case 'ArrowRight':
        c += 1;
        break;
      case 'ArrowLeft':
        c -= 1;
        break;
      case 'PageDown':
        k += visibleRows();
        break;
      case 'PageUp':
        k -= visibleRows();
        break;
      case 'Home':
        if (e.ctrlKey) k = 0;
        c = -1;
        break;
      case 'End':
        if (e.ctrlKey) k = kernelRows.length - 1;
        c = cols.length - 1;
        break;
      case 'Enter':
      case ' ':
        if (focus.c < 0) return;
        e.preventDefault();
        openCell(focus.k, focus.c);
        return;
      default:
        return;
    }
    e.preventDefault();
    hideTip();
    moveFocus(k, c);
  });

  grid.addEventListener('click', (e) => {
    const td = e.target.closest('td[data-c]');
    if (!td) return;
    const r = Number(td.parentElement.dataset.r);
    focus = { k: kernelRows.indexOf(r), c: Number(td.dataset.c) };
    clickedAt = { x: e.clientX, y: e.clientY };
    moveFocus(focus.k, focus.c);
    openCell(focus.k, focus.c);
  });

  grid.addEventListener('focusin', (e) => {
    const el = e.target.closest('[data-c]');
    const tr = el?.closest('tr[data-r]');
    if (!el || !tr) return;
    const k = kernelRows.indexOf(Number(tr.dataset.r));
    if (k >= 0) focus = { k, c: Number(el.dataset.c) };
    for (const old of grid.querySelectorAll('[tabindex="0"]'))
      if (old !== el) old.setAttribute('tabindex', '-1');
    el.setAttribute('tabindex', '0');
    // The card follows the keyboard; a click's focus opens the evidence instead (the card would cover it).
    if (el.tagName === 'TD' && el.matches(':focus-visible')) showTip(el);
  });
  grid.addEventListener('focusout', () => hideTip());

  // ----- tooltip -----
  let tipTimer = null;
  /**
   * Where the last click on a cell was. Opening the evidence re-renders and narrows the grid under a pointer
   * that has not moved; the browser then reports it over whatever cell is there now. No card for that: only
   * once the pointer really moves.
   */
  let clickedAt = null;
  function showTip(td) {
    const tr = td.parentElement;
    const k = state.kernels.get(Number(tr.dataset.kernel));
    const c = cols[Number(td.dataset.c)];
    if (!k || !c) return;
    const cell = state.cells.get(`${k.id}|${c.key}`);
    replace(
      tip,
      h('strong', null, `${k.release} (${k.version})`),
      h('div', null, `× ${c.package} ${c.version}`),
      c.kernelId === k.id ? h('div', { class: 'muted' }, 'the kernel build’s own modules') : null,
      cell
        ? h(
            'ul',
            null,
            Object.entries(cell.counts)
              .sort((a, b) => (VERDICT[a[0]]?.rank ?? 99) - (VERDICT[b[0]]?.rank ?? 99))
              .map(([v, n]) => h('li', null, verdictBadge(v), ` ${n} module${n === 1 ? '' : 's'}`)),
          )
        : h('div', null, 'Not evaluated yet.'),
      h('div', { class: 'muted' }, 'Click or press Enter for the evidence.'),
    );
    tip.hidden = false;
    const rect = td.getBoundingClientRect();
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    let x = rect.right + 8;
    if (x + tw > window.innerWidth - 8) x = Math.max(8, rect.left - tw - 8);
    const y = Math.min(Math.max(8, rect.top), window.innerHeight - th - 8);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
    td.setAttribute('aria-describedby', 'matrix-tip');
  }
  /** Hides the card and cancels one about to show (a hover that began just before a click). */
  function hideTip() {
    clearTimeout(tipTimer);
    tipTimer = null;
    tip.hidden = true;
  }
  tbody.addEventListener('mouseover', (e) => {
    const td = e.target.closest('td[data-c]');
    if (!td) return;
    clearTimeout(tipTimer);
    if (clickedAt && e.clientX === clickedAt.x && e.clientY === clickedAt.y) return;
    clickedAt = null;
    // A cell re-rendered (or left) meanwhile is no longer the one under the pointer.
    tipTimer = setTimeout(() => {
      tipTimer = null;
      if (td.isConnected && td.matches(':hover')) showTip(td);
    }, 120);
  });
  grid.addEventListener('mouseleave', () => {
    clearTimeout(tipTimer);
    hideTip();
  });

  // ----- evidence panel -----
  let panelCtrl = null;
  function urlParams(extra = {}) {
    return { ...filters, q, verdict: verdicts.join(','), ...extra };
  }

  function openPanel(kernelId, column) {
    const k = state.kernels.get(kernelId);
    const cell = state.cells.get(`${kernelId}|${column.key}`);
    panelCtrl?.abort();
    panelCtrl = new AbortController();
    panel.hidden = false;
    document.body.classList.add('panel-open');
    onResize();
    history.replaceState(
      null,
      '',
      route('/matrix', urlParams({ kernel: kernelId, package: column.package, version: column.version })),
    );
    const handle = renderEvidence(
      panelBody,
      { kernel: kernelId, package: column.package, version: column.version },
      { signal: panelCtrl.signal, counts: cell?.counts },
    );
    handle.focus();
    if (!cell && k) {
      // Verdicts never asked for are computed by that first request: show them in the matrix too.
      void handle.ready.then((r) => {
        if (r.error || panelCtrl.signal.aborted) return;
        void refreshKernel(kernelId)
          .then(() => {
            const fresh = state.cells.get(`${kernelId}|${column.key}`);
            if (fresh && !panelCtrl.signal.aborted) handle.setCounts(fresh.counts);
          })
          .catch(() => undefined);
      });
    }
  }

  function openCell(fk, c) {
    const r = kernelRows[fk];
    const k = rows[r]?.kernel;
    const col = cols[c];
    if (!k || !col) return;
    hideTip();
    openPanel(k.id, col);
  }

  function closePanel() {
    if (panel.hidden) return;
    panelCtrl?.abort();
    panel.hidden = true;
    document.body.classList.remove('panel-open');
    onResize();
    history.replaceState(null, '', route('/matrix', urlParams()));
    const el = focusElement();
    if (el) el.focus({ preventScroll: false });
  }
  panelClose.addEventListener('click', closePanel);
  const onKey = (e) => {
    if (e.key !== 'Escape') return;
    if (!tip.hidden) hideTip();
    else if (!panel.hidden && !document.getElementById('token-dialog').open) closePanel();
  };
  document.addEventListener('keydown', onKey);

  // ----- events -----
  let frame = 0;
  scroller.addEventListener('scroll', () => {
    hideTip();
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      renderWindow();
    });
  });
  // The scroller's width changes with the window and when the evidence panel opens or closes beside it.
  const onResize = () => {
    sizeColumns();
    renderWindow(true);
  };
  window.addEventListener('resize', onResize);
  more.addEventListener('click', () => void loadPage());

  let qTimer = null;
  qInput.addEventListener('input', () => {
    clearTimeout(qTimer);
    qTimer = setTimeout(() => {
      q = qInput.value.trim();
      history.replaceState(null, '', route('/matrix', urlParams()));
      relayout();
    }, 150);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = Object.fromEntries(SERVER_FILTERS.map((k) => [k, inputs[k].value.trim()]));
    const verdict = [...verdictBoxes.querySelectorAll('input:checked')].map((i) => i.value).join(',');
    window.location.hash = route('/matrix', { ...next, q: qInput.value.trim(), verdict });
  });

  signal.addEventListener(
    'abort',
    () => {
      panelCtrl?.abort();
      document.removeEventListener('keydown', onKey);
      window.removeEventListener('resize', onResize);
      document.body.classList.remove('panel-open');
      clearTimeout(tipTimer);
      clearTimeout(qTimer);
    },
    { once: true },
  );

  return (async () => {
    await loadPage();
    const kernel = Number(params.get('kernel'));
    const pkg = params.get('package');
    if (kernel && pkg) {
      const version = params.get('version') ?? '';
      const column = state.columns.get(`${pkg}@${version}`) ?? {
        key: `${pkg}@${version}`,
        package: pkg,
        version,
        kernelId: null,
      };
      openPanel(kernel, column);
    }
  })();
}
