import { aptRoleFromName, isDebugPackage, rpmRoleFromName, type Evidence, type Role } from './classify.ts';

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

/**
 * A package carrying a kernel of a concrete release: a full x.y.z (the virtual `linux-image-2.6` that
 * kernel images have provided since 2.6 names none).
 */
const KERNEL_PACKAGE = /^linux-(image|binary|binary-unsigned|modules|modules-extra)-(\d+\.\d+\.\d+[^\s]*)$/;
/** Headers of a concrete release, as Proxmox's `proxmox-headers-<rel>` provides `linux-headers-<rel>-amd64`. */
const KERNEL_HEADERS = /^linux-headers-\d+\.\d+\.\d+[^\s]*$/;
/**
 * The virtual package every Debian-style kernel image depends on (`initramfs-tools | linux-initramfs-tool`),
 * whatever the image is called: Debian's and Ubuntu's `linux-image-*`, Proxmox's `proxmox-kernel-*` and
 * `pve-kernel-*`, `make deb-pkg` kernels. Only images need an initramfs built for them.
 */
const INITRAMFS_TOOL = 'linux-initramfs-tool';
/** Names under which a package is itself a kernel image (what a meta package depends on instead). */
const IMAGE_NAMES = /^(?:linux-(?:image|binary)|proxmox-kernel|pve-kernel)-\d/;
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
  const provides = relationNames(pkg.provides);
  const provided = provides.map((n) => KERNEL_PACKAGE.exec(n)).find((m) => m !== null);
  // A package that itself depends on a kernel image of a concrete release only pulls it in (Proxmox's
  // proxmox-kernel-6.8 provides linux-image-amd64 and depends on proxmox-kernel-6.8.12-4-pve-signed).
  const pullsInImage = depends.some((d) => d !== pkg.name && IMAGE_NAMES.test(d));
  if (provided && !pullsInImage) {
    const kind = provided[1]!;
    return {
      role: kind.startsWith('modules') ? 'kernel-modules' : 'kernel-image',
      evidence: 'provides',
      // What a Provides names is not always the `uname -r` (Proxmox appends -amd64): ingest reads the paths.
      releases: [],
    };
  }
  if (provides.some((n) => KERNEL_HEADERS.test(n)) && !pullsInImage) {
    return { role: 'kernel-headers', evidence: 'provides', releases: [] };
  }
  if (depends.includes(INITRAMFS_TOOL) && !pullsInImage) {
    return { role: 'kernel-image', evidence: 'depends', releases: [] };
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

/**
 * What an rpm's capabilities say it is, for repositories without filelists. Fedora/RHEL and openSUSE kernel
 * packages provide `<part>-uname-r = <uname -r>`: kernel-core (and openSUSE's kernel-default)
 * `kernel-uname-r` and `kernel-core-uname-r`, kernel-modules(-core|-extra) `kernel-modules…-uname-r`,
 * kernel-devel `kernel-devel-uname-r`; a kmod package built for one kernel requires `kernel-uname-r = <rel>`.
 */
const UNAME_R =
  /^(kernel(?:-core)?|kernel-modules(?:-core|-extra|-internal)?|kernel-devel)-uname-r\s*=\s*(\S+)$/;
const REQUIRES_UNAME_R = /^kernel(?:-core|-modules(?:-core)?)?-uname-r\s*=\s*(\S+)$/;

export function selectRpmByNameAndRelations(pkg: {
  name: string;
  requires: readonly string[];
  provides: readonly string[];
}): NameSelection | undefined {
  if (isDebugPackage(pkg.name)) return undefined;
  const provided = pkg.provides.map((p) => UNAME_R.exec(p.trim())).filter((m) => m !== null);
  const strongest = (want: (part: string) => boolean) => provided.find((m) => want(m[1]!));
  const image = strongest((p) => p === 'kernel' || p === 'kernel-core');
  const modules = strongest((p) => p.startsWith('kernel-modules'));
  const devel = strongest((p) => p === 'kernel-devel');
  const hit = image ?? modules ?? devel;
  if (hit) {
    const role: Role = image ? 'kernel-image' : modules ? 'kernel-modules' : 'kernel-headers';
    return { role, evidence: 'provides', releases: [stripEpoch(hit[2]!)] };
  }
  const byName = rpmRoleFromName(pkg.name);
  if (byName) return { role: byName, evidence: 'name', releases: [] };
  const releases = [
    ...new Set(
      pkg.requires
        .map((r) => REQUIRES_UNAME_R.exec(r.trim())?.[1])
        .filter((r): r is string => r !== undefined)
        .map(stripEpoch),
    ),
  ].sort();
  if (releases.length > 0) return { role: 'out-of-tree-modules', evidence: 'depends', releases };
  return undefined;
}

function stripEpoch(v: string): string {
  return v.replace(/^\d+:/, '');
}
