// A finished job's result as readable fields (what each processor returns, apps/worker/src/processors),
// never as JSON: [{ label, text, href? }], in the order a reader wants them.

const n = (v) => Number(v).toLocaleString('en-US');
const plural = (count, one, many = `${one}s`) => `${n(count)} ${count === 1 ? one : many}`;
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

function verdictCounts(summary) {
  return Object.entries(summary ?? {})
    .filter(([, c]) => isNum(c) && c > 0)
    .map(([v, c]) => `${n(c)} ${v}`)
    .join(', ');
}

/** Whatever a processor returned that the cases below do not know, as "key: value" text. */
function plainValue(v) {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.length ? v.map(plainValue).join(', ') : 'none';
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k} ${plainValue(x)}`)
      .join(', ');
  return String(v);
}

function genericFields(result) {
  return Object.entries(result).map(([label, v]) => ({ label, text: plainValue(v) }));
}

function scanFields(r) {
  const fields = [];
  if (Array.isArray(r.suites)) {
    const changed = r.suites.filter((s) => s.changed).length;
    fields.push({
      label: 'suites',
      text: `${plural(r.suites.length, 'suite')} scanned, ${n(changed)} changed`,
    });
    const insecure = r.suites.filter((s) => s.insecure).map((s) => s.suite);
    if (insecure.length) fields.push({ label: 'unsigned', text: `${insecure.join(', ')} (insecure mirror)` });
    const expired = r.suites.filter((s) => s.allowExpired).map((s) => s.suite);
    if (expired.length)
      fields.push({ label: 'expired allowed', text: `${expired.join(', ')} (expired Releases allowed)` });
  }
  // Suites that failed while the others went on, and what the scan had to do without: each with its code.
  for (const f of Array.isArray(r.failedSuites) ? r.failedSuites : [])
    fields.push({ label: 'failed', text: `${f.suite}: ${f.message} (${f.code})` });
  for (const w of Array.isArray(r.warnings) ? r.warnings : [])
    fields.push({ label: 'warning', text: `${w.suite ? `${w.suite}: ` : ''}${w.message} (${w.code})` });
  if (isNum(r.packagesFound)) fields.push({ label: 'packages', text: `${n(r.packagesFound)} found` });
  if (isNum(r.ingestsQueued))
    fields.push({
      label: 'ingests',
      text: `${n(r.ingestsQueued)} queued${r.ingestsRetried ? `, ${n(r.ingestsRetried)} retried` : ''}`,
    });
  return fields;
}

function ingestFields(r, kernelName) {
  const fields = [];
  if (isNum(r.modules)) fields.push({ label: 'modules', text: `${n(r.modules)} stored` });
  if (Array.isArray(r.kernels))
    for (const id of r.kernels)
      fields.push({ label: 'kernel build', text: kernelName(id), href: `#/kernels/${id}` });
  if (Array.isArray(r.evaluations))
    fields.push({ label: 'evaluations', text: `${n(r.evaluations.length)} queued` });
  return fields;
}

function evaluateFields(r) {
  const fields = [];
  if (isNum(r.modules))
    fields.push({
      label: 'verdicts',
      text: `${plural(r.modules, 'module build')}${r.summary ? `: ${verdictCounts(r.summary)}` : ''}`,
    });
  if (Array.isArray(r.alerts)) {
    if (r.alerts.length === 0) fields.push({ label: 'alerts', text: 'none raised' });
    for (const id of r.alerts) fields.push({ label: 'alert', text: `#${id}`, href: `#/alerts/${id}` });
  }
  if (isNum(r.ms)) fields.push({ label: 'took', text: `${(r.ms / 1000).toFixed(1)} s` });
  return fields;
}

function deliverFields(r) {
  const fields = [];
  if (r.status) fields.push({ label: 'delivery', text: String(r.status) });
  if (isNum(r.attempt)) fields.push({ label: 'attempt', text: String(r.attempt) });
  if (r.reason) fields.push({ label: 'reason', text: String(r.reason) });
  return fields;
}

const BY_NAME = {
  'scan-mirror': scanFields,
  'ingest-package': ingestFields,
  'evaluate-kernel': evaluateFields,
  'deliver-webhook': deliverFields,
};

/**
 * The fields of `job.result`; a skipped job says why first. Empty when there is no result. `kernelName`
 * names a kernel build id (release and version where known).
 */
export function resultFields(job, kernelName = (id) => `kernel build #${id}`) {
  const r = job.result;
  if (!r || typeof r !== 'object') return [];
  const fields = [];
  if (r.skipped) fields.push({ label: 'skipped', text: String(r.skipped) });
  if (r.by) fields.push({ label: 'handed over to', text: String(r.by) });
  const known = BY_NAME[job.name]?.(r, kernelName) ?? [];
  // A result shape this dashboard does not know still reads as fields, not as JSON.
  const rest = known.length || r.skipped ? [] : genericFields(r);
  return [...fields, ...known, ...rest];
}
