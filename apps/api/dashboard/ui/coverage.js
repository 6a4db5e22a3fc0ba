/* global document, URLSearchParams */
// What btfwatch cannot tell yet. No alert is an all-clear only where every kernel build has what the alert rule
// needs (GET /v1/coverage); everywhere else the dashboard says what is missing and why.

import { getJson, isAbort } from './api.js';
import { h, heading, message, num, replace, route, table } from './dom.js';
import { kernelLink } from './names.js';

const INPUT_TEXT = {
  btf: 'vmlinux BTF',
  crcs: 'symbol CRCs',
  config: 'kernel config',
  'kernel-version': 'kernel version',
};

export function inputName(input) {
  return INPUT_TEXT[input] ?? input;
}

/** `complete === kernels` with at least one build: the only state in which no alert means all is well. */
export function isComplete(coverage) {
  return Boolean(coverage) && coverage.kernels > 0 && coverage.complete === coverage.kernels;
}

/**
 * The coverage of the alert feed (`coverage` of GET /v1/alerts) as a box: how many builds the rule could
 * judge, the sentences naming what is missing for the others, and a link to the gaps per build.
 */
export function coverageBox(coverage) {
  if (!coverage) return null;
  const { kernels, complete, summary = [] } = coverage;
  if (kernels === 0)
    return h(
      'section',
      { class: 'coverage empty', 'aria-label': 'Coverage' },
      h('p', null, 'No kernel builds scanned yet: there is nothing to judge.'),
    );
  if (complete === kernels)
    return h(
      'section',
      { class: 'coverage complete', 'aria-label': 'Coverage' },
      h(
        'p',
        null,
        `All ${num(kernels)} kernel build${kernels === 1 ? ' has' : 's have'} what the alert rule needs ` +
          '(BTF, kernel version, config, symbol CRCs).',
      ),
    );
  const missing = kernels - complete;
  return h(
    'section',
    { class: 'coverage gaps', 'aria-label': 'Coverage', role: 'status' },
    h(
      'p',
      { class: 'coverage-head' },
      h('strong', null, 'Not an all-clear: '),
      `${num(missing)} of ${num(kernels)} kernel build${kernels === 1 ? '' : 's'} ${
        missing === 1 ? 'lacks' : 'lack'
      } what the verdicts or the alert rule need, so an upload that breaks BTF there may raise no alert.`,
    ),
    h(
      'ul',
      { class: 'coverage-summary' },
      summary.map((line) => h('li', null, line)),
    ),
    h('p', null, h('a', { href: route('/coverage') }, 'See what each kernel build lacks, and why')),
  );
}

/** `#/coverage`: every kernel build lacking an input, what cannot be told without it and what would bring it. */
export function coverageView({ main, params, signal }) {
  document.title = 'Coverage · btfwatch';
  const filters = Object.fromEntries(
    ['distro', 'arch', 'suite'].map((k) => [k, params.get(k) ?? '']).filter(([, v]) => v),
  );
  const body = h('div', null, h('p', { role: 'status' }, 'Loading coverage…'));
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: route('/alerts') }, '← Alerts')),
    heading('Coverage'),
    h(
      'p',
      { class: 'help' },
      'Where an input is missing, the verdicts say unknown and why, and the alert rule cannot judge: an ' +
        'absence of alerts about these builds is not an all-clear.',
    ),
    body,
  );
  return (async () => {
    let cov;
    try {
      cov = await getJson(`/v1/coverage?${new URLSearchParams(filters)}`, { signal });
    } catch (err) {
      if (!isAbort(err)) replace(body, message('error', `Could not load coverage: ${err.message}`));
      return;
    }
    const rows = cov.gaps.flatMap((g) =>
      g.missing.map((m, i) => [
        i === 0 ? kernelLink(g.kernel) : '',
        h('span', { class: `gap gap-${m.input}` }, inputName(m.input)),
        m.effect,
        m.why,
      ]),
    );
    replace(
      body,
      h(
        'p',
        { class: 'coverage-count' },
        `${num(cov.complete)} of ${num(cov.kernels)} kernel build${cov.kernels === 1 ? '' : 's'} complete.`,
      ),
      cov.summary.length
        ? h(
            'ul',
            { class: 'coverage-summary' },
            cov.summary.map((s) => h('li', null, s)),
          )
        : null,
      rows.length
        ? table({
            caption: `${num(cov.gaps.length)} kernel build${cov.gaps.length === 1 ? '' : 's'} with gaps`,
            head: ['Kernel build', 'Missing', 'What cannot be told', 'Why, and what would bring it'],
            rows,
            className: 'data coverage-table',
          })
        : h(
            'p',
            null,
            cov.kernels
              ? 'Nothing is missing: every kernel build has its BTF, kernel version, config and symbol CRCs.'
              : 'No kernel builds scanned yet.',
          ),
    );
  })();
}

/** What one kernel build lacks (its entry in GET /v1/coverage), or [] when nothing. */
export async function kernelGaps(k, signal) {
  const q = new URLSearchParams({ distro: k.distro, arch: k.arch });
  const cov = await getJson(`/v1/coverage?${q}`, { signal });
  return cov.gaps.find((g) => g.kernel.id === k.id)?.missing ?? [];
}

/** The gaps of one build as a list, or the statement that nothing is missing. */
export function gapsList(gaps) {
  if (!gaps.length)
    return h(
      'p',
      { class: 'no-gaps' },
      'Nothing missing: its BTF, kernel version, config and symbol CRCs are all known.',
    );
  return h(
    'ul',
    { class: 'gaps-list' },
    gaps.map((g) =>
      h(
        'li',
        { dataset: { input: g.input } },
        h('strong', null, `No ${inputName(g.input)}: `),
        `${g.effect}. `,
        h('span', { class: 'muted' }, `Why: ${g.why}.`),
      ),
    ),
  );
}
