/* global document, setTimeout, clearTimeout */
// Scan/ingest/evaluate progress. GET /v1/jobs is an admin endpoint: nothing is asked or shown until the user
// gives the admin token; then active jobs are polled every 2 s while any run (every 10 s when idle).

import { ApiError, askToken, getAdminJson, isAbort, tokens } from './api.js';
import { h, message, num, route, table, when, heading, replace } from './dom.js';
import { resultFields } from './job-results.js';
import { learnKernels, nameOf } from './names.js';

const BUSY_MS = 2000;
const IDLE_MS = 10000;

const listeners = new Set();
let timer = null;
let last = null;

function emit(snapshot) {
  last = snapshot;
  for (const fn of listeners) fn(snapshot);
}

function schedule(ms) {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => void poll(), ms);
}

async function poll() {
  timer = null;
  if (listeners.size === 0) return;
  if (!tokens.admin()) return emit({ state: 'no-token' });
  try {
    const res = await getAdminJson('/v1/jobs?state=active&limit=100');
    await learnKernels(kernelIds(res.items));
    const busy = res.items.length > 0 || (res.counts.waiting ?? 0) > 0;
    emit({ state: 'ok', active: res.items, counts: res.counts, busy });
    schedule(busy ? BUSY_MS : IDLE_MS);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return emit({ state: 'refused' });
    if (err instanceof ApiError && err.status === 403)
      return emit({ state: 'disabled', message: err.message });
    emit({ state: 'error', message: err.message });
    schedule(IDLE_MS);
  }
}

export function pollJobsNow() {
  schedule(0);
}

/** Calls `fn` with every new snapshot: { state: 'no-token'|'refused'|'disabled'|'error'|'ok', active, counts }. */
export function subscribeJobs(fn) {
  listeners.add(fn);
  if (last) fn(last);
  if (!timer) schedule(0);
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
  };
}

export async function requestAdminToken() {
  const token = await askToken(
    'Admin token',
    'Scan and ingest progress comes from an admin endpoint. Enter BTFWATCH_ADMIN_TOKEN to show it.',
  );
  if (token) {
    tokens.setAdmin(token);
    pollJobsNow();
  }
}

function bytes(n) {
  if (typeof n !== 'number') return '?';
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/** The kernel builds the jobs name (a job's data and result carry only their ids). */
function kernelIds(jobs) {
  return jobs.flatMap((j) => [
    j.data?.kernelBuildId,
    ...(Array.isArray(j.result?.kernels) ? j.result.kernels : []),
  ]);
}

/** What the job is doing, its progress as value/max (null = indeterminate) and a one-line text. */
export function describeJob(job) {
  const d = job.data ?? {};
  const p = job.progress ?? {};
  switch (job.name) {
    case 'scan-mirror': {
      const warnings = Array.isArray(p.warnings) ? p.warnings.length : 0;
      return {
        title: `Scan mirror #${d.mirrorId ?? '?'}`,
        value: typeof p.of === 'number' ? [p.suites ?? 0, p.of] : null,
        text:
          typeof p.of === 'number'
            ? `${p.suites}/${p.of} suites · ${num(p.packagesFound)} packages found` +
              (typeof p.ingestsQueued === 'number' ? ` · ${num(p.ingestsQueued)} ingests queued` : '') +
              (p.suitesFailed ? ` · ${num(p.suitesFailed)} suite(s) failed` : '') +
              (warnings ? ` · ${num(warnings)} warning(s)` : '')
            : 'reading the indexes',
      };
    }
    case 'ingest-package': {
      const phase = p.phase ?? 'queued';
      const value = phase === 'download' && p.size ? [p.bytes ?? 0, p.size] : null;
      const text =
        phase === 'download'
          ? `downloading ${bytes(p.bytes)} of ${bytes(p.size)}`
          : phase === 'extract'
            ? `extracting: ${num(p.modules)} modules so far`
            : phase === 'store'
              ? `storing ${num(p.modules)} modules`
              : 'starting';
      return { title: `Ingest ${d.name ?? '?'} ${d.version ?? ''}`.trim(), value, text };
    }
    case 'evaluate-kernel':
      return {
        title: `Evaluate ${nameOf(d.kernelBuildId)}`,
        value: typeof p.of === 'number' ? [p.modules ?? 0, p.of] : null,
        text: typeof p.of === 'number' ? `${num(p.modules)}/${num(p.of)} module builds` : 'loading bases',
      };
    default:
      return { title: `${job.name} ${job.id}`, value: null, text: job.state };
  }
}

function jobRow(job) {
  const info = describeJob(job);
  const label = `${info.title}: ${info.text}`;
  const bar = h('progress', {
    'aria-label': label,
    max: info.value ? String(Math.max(1, info.value[1])) : null,
  });
  if (info.value) bar.value = info.value[0];
  return h(
    'li',
    { class: 'job', dataset: { job: job.id, name: job.name } },
    h('span', { class: 'job-title' }, info.title),
    bar,
    h('span', { class: 'job-text' }, info.text),
  );
}

function countsText(counts) {
  return ['active', 'waiting', 'delayed', 'failed', 'completed']
    .filter((k) => counts?.[k])
    .map((k) => `${num(counts[k])} ${k}`)
    .join(' · ');
}

/** The jobs box: asks for the admin token, then shows a progress bar per running job. */
export function jobsStrip(signal, { onIdle } = {}) {
  const box = h('section', { class: 'jobs-strip', 'aria-labelledby': 'jobs-strip-title' });
  const title = h('h2', { id: 'jobs-strip-title', class: 'small-title' }, 'Scan and ingest progress');
  const body = h('div', { 'aria-live': 'polite' });
  box.append(title, body);
  let wasBusy = false;
  const tokenButton = (text) =>
    h('button', { type: 'button', onclick: () => void requestAdminToken() }, text);
  const unsubscribe = subscribeJobs((snap) => {
    if (snap.state === 'no-token') {
      replace(body, h('p', null, 'Jobs are shown to admins only. ', tokenButton('Enter admin token…')));
    } else if (snap.state === 'refused') {
      replace(body, message('error', 'The admin token was refused. ', tokenButton('Try another token…')));
    } else if (snap.state === 'disabled') {
      replace(body, message('info', `Jobs unavailable: ${snap.message}`));
    } else if (snap.state === 'error') {
      replace(body, message('error', `Could not read jobs: ${snap.message}`));
    } else {
      const forget = h(
        'button',
        {
          type: 'button',
          class: 'link-button',
          onclick: () => {
            tokens.forgetAdmin();
            pollJobsNow();
          },
        },
        'forget admin token',
      );
      replace(
        body,
        snap.active.length
          ? h('ul', { class: 'jobs' }, snap.active.map(jobRow))
          : h('p', { class: 'no-jobs' }, 'No jobs running.'),
        h('p', { class: 'job-counts' }, countsText(snap.counts) || 'No jobs yet.', ' · ', forget),
      );
      if (wasBusy && !snap.busy) onIdle?.();
      wasBusy = snap.busy;
    }
  });
  signal.addEventListener('abort', unsubscribe, { once: true });
  return box;
}

/** A finished job's result as labelled fields (links where they name a kernel build or an alert). */
function jobOutcome(job, info) {
  const fields = resultFields(job, nameOf);
  if (!fields.length) return info.text;
  return h(
    'ul',
    { class: 'job-result' },
    fields.map((f) =>
      h(
        'li',
        null,
        h('span', { class: 'field' }, `${f.label}: `),
        f.href ? h('a', { href: f.href }, f.text) : f.text,
      ),
    ),
  );
}

/** Trust settings that weaken checking, as words (nothing when the mirror checks everything). */
function trustFlags(x) {
  return [
    x.insecure ? 'insecure (no signature check)' : null,
    x.allowExpired ? 'expired Releases allowed' : null,
  ]
    .filter(Boolean)
    .map((t) => h('span', { class: 'flag no trust-flag' }, t));
}

function warningList(warnings) {
  if (!warnings?.length) return null;
  return h(
    'ul',
    { class: 'scan-warnings' },
    warnings.map((w) =>
      h(
        'li',
        { dataset: { code: w.code } },
        w.suite ? `${w.suite}: ` : '',
        w.message,
        ' ',
        h('code', null, w.code),
      ),
    ),
  );
}

/** The configured mirrors with what weakens their checking and what their last scan said. */
async function mirrorsTable(signal) {
  const res = await getAdminJson('/v1/mirrors', { signal });
  if (!res.items.length) return h('p', null, 'No mirrors yet (POST /v1/mirrors).');
  return table({
    caption: `${res.items.length} mirror${res.items.length === 1 ? '' : 's'}`,
    head: ['Mirror', 'Suites', 'Packages', 'Trust', 'Last scan', 'Warnings'],
    rows: res.items.map((m) => [
      h('span', null, `#${m.id} `, h('code', null, m.url), ` (${m.kind}, ${m.arch})`),
      m.suites.join(', '),
      m.match.length ? m.match.map((p) => h('code', { class: 'match-pattern' }, p)) : 'every kernel package',
      trustFlags(m).length
        ? trustFlags(m)
        : h('span', { class: 'flag yes' }, m.hasKeyring ? 'own keyring' : 'distribution keyring'),
      h(
        'span',
        null,
        when(m.lastScanAt),
        m.lastScanError ? h('span', { class: 'state-failed' }, ` · ${m.lastScanError}`) : null,
      ),
      warningList(m.lastScanWarnings) ?? '—',
    ]),
    className: 'data mirrors-table',
  });
}

/** `#/jobs`: running jobs with progress, and the most recent ones. */
export function jobsView({ main, signal }) {
  document.title = 'Jobs · btfwatch';
  const recent = h(
    'section',
    { 'aria-labelledby': 'recent-title' },
    h('h2', { id: 'recent-title' }, 'Recent jobs'),
  );
  const recentBody = h('div');
  recent.append(recentBody);
  const mirrors = h(
    'section',
    { 'aria-labelledby': 'mirrors-title' },
    h('h2', { id: 'mirrors-title' }, 'Mirrors'),
  );
  const mirrorsBody = h('div');
  mirrors.append(mirrorsBody);
  replace(main, heading('Jobs'), jobsStrip(signal), recent, mirrors);
  let inflight = false;
  const unsubscribe = subscribeJobs(async (snap) => {
    if (snap.state !== 'ok') return recentBody.replaceChildren();
    if (inflight) return;
    inflight = true;
    try {
      const res = await getAdminJson('/v1/jobs?limit=50', { signal });
      await learnKernels(kernelIds(res.items), signal);
      replace(mirrorsBody, await mirrorsTable(signal));
      replace(
        recentBody,
        table({
          caption: 'The 50 most recent jobs, newest first',
          head: ['Job', 'State', 'Progress / result', 'Attempts', 'Created', 'Finished'],
          rows: res.items.map((j) => {
            const info = describeJob(j);
            const outcome = j.error ? h('span', { class: 'job-error' }, j.error) : jobOutcome(j, info);
            const target =
              j.name === 'evaluate-kernel' && j.data?.kernelBuildId
                ? h('a', { href: route(`/kernels/${j.data.kernelBuildId}`) }, info.title)
                : info.title;
            return [
              target,
              h('span', { class: `state state-${j.state}` }, j.state),
              outcome,
              String(j.attempts),
              when(j.createdAt),
              when(j.finishedAt),
            ];
          }),
        }),
      );
    } catch (err) {
      if (!isAbort(err)) replace(recentBody, message('error', `Could not read jobs: ${err.message}`));
    } finally {
      inflight = false;
    }
  });
  signal.addEventListener('abort', unsubscribe, { once: true });
}
