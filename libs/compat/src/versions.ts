/** dpkg's version ordering (epoch, upstream, revision; `~` sorts before everything). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) || 0 : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return {
      epoch,
      upstream: dash >= 0 ? rest.slice(0, dash) : rest,
      revision: dash >= 0 ? rest.slice(dash + 1) : '',
    };
  };
  const order = (c: string) =>
    c === '~' ? -1 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c ? c.charCodeAt(0) + 256 : 0;
  const part = (x: string, y: string): number => {
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      while ((i < x.length && !/\d/.test(x[i]!)) || (j < y.length && !/\d/.test(y[j]!))) {
        const ca = i < x.length && !/\d/.test(x[i]!) ? x[i]! : '';
        const cb = j < y.length && !/\d/.test(y[j]!) ? y[j]! : '';
        const d = order(ca) - order(cb);
        if (d !== 0) return d;
        if (ca) i++;
        if (cb) j++;
      }
      let na = '';
      let nb = '';
      while (i < x.length && /\d/.test(x[i]!)) na += x[i++];
      while (j < y.length && /\d/.test(y[j]!)) nb += y[j++];
      const d = Number(na || '0') - Number(nb || '0');
      if (d !== 0) return d;
    }
    return 0;
  };
  const pa = split(a);
  const pb = split(b);
  return pa.epoch - pb.epoch || part(pa.upstream, pb.upstream) || part(pa.revision, pb.revision);
}
