/* global document, Node, URLSearchParams */
// DOM helpers. Everything shown is built as nodes with text content: no HTML strings anywhere (the page's
// CSP forbids string sinks through Trusted Types, so an innerHTML would throw).

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** `h('a', { href: '#/x', class: 'y' }, 'text', otherNode)` */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

export function num(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}

/** Dates in UTC, unambiguous for a mirror-wide audience. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function shortHash(hash) {
  return hash ? hash.slice(0, 12) : '—';
}

/** `#/path?k=v` with empty values left out. */
export function route(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** A definition list from [term, value] pairs; values may be nodes. */
export function facts(pairs, attrs = {}) {
  return h(
    'dl',
    { class: 'facts', ...attrs },
    pairs.filter(Boolean).map(([term, value]) => [h('dt', null, term), h('dd', null, value ?? '—')]),
  );
}

/** A table with a caption, header row and body rows (arrays of cell contents). */
export function table({ caption, head, rows, className = 'data', rowHeaders = false }) {
  return h(
    'table',
    { class: className },
    caption ? h('caption', null, caption) : null,
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        head.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          null,
          r.map((c, i) => (rowHeaders && i === 0 ? h('th', { scope: 'row' }, c) : h('td', null, c))),
        ),
      ),
    ),
  );
}

export function message(kind, text, ...extra) {
  return h('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text, ...extra);
}

/** The view's first heading, focusable so navigation can move focus to it. */
export function heading(text, ...extra) {
  return h('h1', { tabindex: '-1' }, text, ...extra);
}

/** Replaces an element's children; like replaceChildren, but flattens arrays and skips null/false. */
export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}
