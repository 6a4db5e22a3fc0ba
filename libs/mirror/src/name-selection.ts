import { aptRoleFromName, isDebugPackage, type Evidence, type Role } from './classify.ts';

/**
 * Picking kernel packages from a Packages paragraph alone, for when no file list can be had: by name,
 * then by what the package's relations say. Debian's and Ubuntu's kernel packages are named after the
 * release they carry; a package that depends on one of a concrete release (`linux-image-6.1.0-55-amd64`,
 * `linux-modules-7.2.12+deb13-amd64`) is built for that kernel, which is what out-of-tree module packages
 * look like; one that provides such a name stands in for it.
 */
export interface NameSelection {
  role: Role;
  evidence: Extract<Evidence, 'name' | 'depends' | 'provides'>;
  /** The `uname -r` a relation names; empty when selected by name. */
  releases: string[];
}

/** A package carrying a kernel of a concrete release: the release starts with a digit. */
const KERNEL_PACKAGE = /^linux-(image|binary|binary-unsigned|modules|modules-extra)-(\d[^\s]*)$/;
const KERNEL_FAMILY = /^linux-(?:image|binary|modules|headers|base)-/;
/** Debian's `linux-image-<rel>-unsigned`: the release is the name without the suffix. */
const UNSIGNED = /-unsigned$/;
/** Packages whose only job is to pull in a kernel's real packages (Debian 7.x, linux-image-amd64). */
const IMAGE_CARRIER = /^linux-(?:image|binary)-/;

/** The package names a relation field mentions: `a (>= 1) | b:any, c` → a, b, c. */
export function relationNames(clauses: readonly string[]): string[] {
  const out: string[] = [];
  for (const clause of clauses) {
    for (const alt of clause.split('|')) {
      const name = /^\s*([^\s(:[<]+)/.exec(alt)?.[1];
      if (name) out.push(name);
    }
  }
  return out;
}

export function selectByNameAndRelations(pkg: {
  name: string;
  depends: readonly string[];
  provides: readonly string[];
}): NameSelection | undefined {
  if (isDebugPackage(pkg.name)) return undefined;
  const depends = relationNames(pkg.depends);
  const byName = aptRoleFromName(pkg.name);
  if (byName) {
    // A linux-image-* that depends on another image or on linux-binary-* holds no kernel itself.
    if (pkg.name.startsWith('linux-image-') && depends.some((d) => d !== pkg.name && IMAGE_CARRIER.test(d))) {
      return undefined;
    }
    return { role: byName, evidence: 'name', releases: [] };
  }
  // The kernel's own package families, when their names did not select them, are meta or shared
  // packages: that they depend on a build does not make them modules built for it.
  if (KERNEL_FAMILY.test(pkg.name)) return undefined;
  const provided = relationNames(pkg.provides)
    .map((n) => KERNEL_PACKAGE.exec(n))
    .find((m) => m !== null);
  if (provided) {
    const kind = provided[1]!;
    return {
      role: kind.startsWith('modules') ? 'kernel-modules' : 'kernel-image',
      evidence: 'provides',
      releases: [provided[2]!.replace(UNSIGNED, '')],
    };
  }
  const releases = [
    ...new Set(
      depends
        .map((n) => KERNEL_PACKAGE.exec(n)?.[2]?.replace(UNSIGNED, ''))
        .filter((r): r is string => r !== undefined),
    ),
  ].sort();
  if (releases.length > 0) return { role: 'out-of-tree-modules', evidence: 'depends', releases };
  return undefined;
}
