import { h } from './dom.js';

/**
 * BTF verdicts, worst first (the order the API uses to pick a cell's `worst`). Each has a symbol so a cell
 * never relies on colour alone.
 */
export const BTF_VERDICTS = [
  {
    key: 'corrupt',
    symbol: '☠',
    text: 'the kernel accepts the BTF but references resolve to other types or names: wrong BTF, silently',
  },
  {
    key: 'rejected',
    symbol: '✗',
    text: 'the kernel fails to validate the module BTF (logs "failed to validate module … BTF: -22")',
  },
  { key: 'unverified', symbol: '?', text: 'passes validation, but the build base is unknown' },
  { key: 'absent', symbol: '∅', text: 'the module or the kernel has no BTF' },
  { key: 'relocated', symbol: '↻', text: 'distilled base (.BTF.base) relocated against this kernel' },
  {
    key: 'equivalent',
    symbol: '≈',
    text: 'different base hash, but every referenced base type and string means the same',
  },
  { key: 'identical', symbol: '✓', text: 'built against exactly this base BTF' },
];

export const VERDICT = Object.fromEntries(BTF_VERDICTS.map((v, i) => [v.key, { ...v, rank: i }]));

export const LOAD_TEXT = {
  'loads-with-btf': 'loads with BTF',
  'loads-without-btf': 'loads without BTF',
  fails: 'fails to load',
  unknown: 'load unknown',
};

export const ABI_TEXT = {
  compatible: 'ABI compatible',
  incompatible: 'ABI incompatible',
  unknown: 'ABI unknown',
};

export function worstOf(counts) {
  return BTF_VERDICTS.find((v) => counts?.[v.key])?.key ?? null;
}

/** "12 rejected, 1 corrupt", worst first. */
export function countsText(counts) {
  return BTF_VERDICTS.filter((v) => counts?.[v.key])
    .map((v) => `${counts[v.key]} ${v.key}`)
    .join(', ');
}

export function verdictBadge(key, extra) {
  const v = VERDICT[key];
  return h(
    'span',
    { class: `badge v-${key}` },
    h('span', { class: 'sym', 'aria-hidden': 'true' }, v?.symbol ?? ''),
    ` ${key}`,
    extra ? ` ${extra}` : null,
  );
}

/** The load outcome; an `unknown` one carries what it turns on (hover, and for screen readers). */
export function loadBadge(load, reason) {
  return h(
    'span',
    { class: `badge load-${load}`, title: load === 'unknown' && reason ? reason : null },
    LOAD_TEXT[load] ?? load,
  );
}

/** "12 load without BTF, 1 load unknown" from { 'loads-without-btf': 12, unknown: 1 }. */
export function loadsText(loads) {
  return Object.entries(loads ?? {})
    .filter(([, n]) => n > 0)
    .map(([load, n]) => `${n} ${(n === 1 ? LOAD_ONE : LOAD_PLURAL)[load] ?? load}`)
    .join(', ');
}

const LOAD_ONE = { ...LOAD_TEXT, unknown: 'with its load unknown' };
const LOAD_PLURAL = {
  'loads-with-btf': 'load with BTF',
  'loads-without-btf': 'load without BTF',
  fails: 'fail to load',
  unknown: 'with their load unknown',
};

export function abiBadge(abi) {
  return h('span', { class: `badge abi-${abi}` }, ABI_TEXT[abi] ?? abi);
}

/** The colour key with text: symbol and name always visible, what each verdict means one click away. */
export function legend() {
  const extra = [
    ['not-evaluated', '', 'empty', 'not evaluated yet (open the cell to compute it)'],
    ['own-build', '', 'outlined', 'the kernel build’s own modules'],
  ];
  return h(
    'section',
    { class: 'legend', 'aria-labelledby': 'legend-title' },
    h('h2', { id: 'legend-title', class: 'small-title' }, 'Legend (worst verdict of the package’s modules):'),
    h(
      'ul',
      null,
      BTF_VERDICTS.map((v) =>
        h('li', null, h('span', { class: `swatch v-${v.key}`, 'aria-hidden': 'true' }, v.symbol), v.key),
      ),
      extra.map(([cls, sym, name]) =>
        h('li', null, h('span', { class: `swatch ${cls}`, 'aria-hidden': 'true' }, sym), name),
      ),
    ),
    h(
      'details',
      null,
      h('summary', null, 'What the verdicts mean'),
      h(
        'dl',
        null,
        BTF_VERDICTS.map((v) => [h('dt', null, `${v.symbol} ${v.key}`), h('dd', null, v.text)]),
        extra.map(([, , name, text]) => [h('dt', null, name), h('dd', null, text)]),
      ),
    ),
  );
}
