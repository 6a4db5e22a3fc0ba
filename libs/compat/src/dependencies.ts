/** Package names a list of Depends/Requires clauses names (alternatives included, arch qualifiers and versions dropped). */
export function dependencyNames(clauses: readonly string[]): string[] {
  const names = new Set<string>();
  for (const clause of clauses) {
    for (const alternative of clause.split('|')) {
      const word = alternative.trim().split(/[\s(]/, 1)[0] ?? '';
      const name = word.replace(/:[a-z0-9-]+$/, '');
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/** A dependency pinned to one version (`name (= v)`, `name = v`), by name. */
export function pinnedVersions(clauses: readonly string[]): Map<string, string> {
  const pins = new Map<string, string>();
  for (const clause of clauses) {
    if (clause.includes('|')) continue;
    const m = /^\s*([^\s(:]+)(?::\S+)?\s*\(?\s*=\s*([^\s)]+)\s*\)?\s*$/.exec(clause);
    if (m?.[1] && m[2]) pins.set(m[1], m[2]);
  }
  return pins;
}
