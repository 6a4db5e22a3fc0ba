// Package version order, for "newest first": dpkg's rules (epoch, upstream version, revision; `~` sorts
// before anything, letters before other characters, digit runs numerically). Kernel build ids follow
// ingest order, which says nothing about which upload is newer.

function split(v) {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) || 0 : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return {
    epoch,
    upstream: dash >= 0 ? rest.slice(0, dash) : rest,
    revision: dash >= 0 ? rest.slice(dash + 1) : '',
  };
}

const isDigit = (c) => c >= '0' && c <= '9';

function order(c) {
  if (c === '~') return -1;
  if (!c) return 0;
  return /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256;
}

function comparePart(x, y) {
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    while ((i < x.length && !isDigit(x[i])) || (j < y.length && !isDigit(y[j]))) {
      const a = i < x.length && !isDigit(x[i]) ? x[i] : '';
      const b = j < y.length && !isDigit(y[j]) ? y[j] : '';
      const d = order(a) - order(b);
      if (d !== 0) return d;
      if (a) i++;
      if (b) j++;
    }
    let na = '';
    let nb = '';
    while (i < x.length && isDigit(x[i])) na += x[i++];
    while (j < y.length && isDigit(y[j])) nb += y[j++];
    const d = Number(na || '0') - Number(nb || '0');
    if (d !== 0) return d;
  }
  return 0;
}

/** < 0 when version `a` is older than `b`, 0 when equal, > 0 when newer. */
export function compareVersions(a, b) {
  const pa = split(a ?? '');
  const pb = split(b ?? '');
  return (
    pa.epoch - pb.epoch || comparePart(pa.upstream, pb.upstream) || comparePart(pa.revision, pb.revision)
  );
}

/** Kernel builds newest first: higher package version, then release string, then the later ingest. */
export function newestFirst(a, b) {
  return (
    compareVersions(b.version, a.version) || comparePart(b.release ?? '', a.release ?? '') || b.id - a.id
  );
}
