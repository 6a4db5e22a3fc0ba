import { tryNormalizePath } from './paths.ts';

/** What btfwatch wants from a kernel package. */
export type FileKind = 'vmlinuz' | 'module' | 'config' | 'symvers' | 'systemmap';

/** How a picked file itself is compressed (modules `.ko.xz`, Fedora `symvers.gz`). */
export type FileCompression = 'none' | 'xz' | 'zstd' | 'gzip';

export interface PathClass {
  kind: FileKind;
  /** The kernel release (`uname -r`) the path names, e.g. `6.1.0-55-amd64`. */
  release: string;
  compression: FileCompression;
}

const MODULE = /^\/(?:usr\/)?lib\/modules\/([^/]+)\/.+\.ko(\.xz|\.zst|\.gz)?$/;
const MODULES_DIR_FILE =
  /^\/(?:usr\/)?lib\/modules\/([^/]+)\/(vmlinuz|vmlinuz\.unsigned|config|System\.map|symvers\.gz|symvers\.xz)$/;
const BOOT_FILE = /^\/boot\/(vmlinuz|vmlinux|config|System\.map|symvers)-(.+?)(\.gz|\.xz)?$/;
const HEADERS_SYMVERS = /^\/usr\/src\/(?:linux-headers-([^/]+)|kernels\/([^/]+))\/Module\.symvers$/;

const SUFFIX_COMPRESSION: Record<string, FileCompression> = { '.xz': 'xz', '.zst': 'zstd', '.gz': 'gzip' };

/**
 * Classifies an installed path (or archive member name) as one of the files btfwatch extracts.
 *
 * - vmlinuz: `/boot/vmlinuz-<rel>`, `/boot/vmlinux-<rel>` (uncompressed images, e.g. ppc64el),
 *   `/[usr/]lib/modules/<rel>/vmlinuz` (Fedora, Debian 7.x `linux-binary-*`), and `vmlinuz.unsigned`
 *   there (what Debian's `linux-binary-unsigned-*` ships).
 * - module: `*.ko`, `*.ko.xz`, `*.ko.zst`, `*.ko.gz` anywhere under `/[usr/]lib/modules/<rel>/`.
 * - config: `/boot/config-<rel>`, `/[usr/]lib/modules/<rel>/config`.
 * - symvers: `/usr/src/linux-headers-<rel>/Module.symvers` (Debian), `/usr/src/kernels/<rel>/Module.symvers`
 *   (Fedora kernel-devel), `/[usr/]lib/modules/<rel>/symvers.{gz,xz}` and `/boot/symvers-<rel>.{gz,xz}`
 *   (Fedora/RHEL kernel-core: gzip in older releases, xz in current ones).
 * - systemmap: `/boot/System.map-<rel>`, `/[usr/]lib/modules/<rel>/System.map`.
 *
 * For Debian headers the release is read from the directory name, which for linux-headers is the
 * release itself (`linux-headers-6.1.0-55-amd64`).
 */
export function classifyPath(name: string): PathClass | null {
  const path = tryNormalizePath(name);
  if (path === null) return null;
  let m = MODULE.exec(path);
  if (m) return { kind: 'module', release: m[1]!, compression: SUFFIX_COMPRESSION[m[2] ?? ''] ?? 'none' };
  m = MODULES_DIR_FILE.exec(path);
  if (m) {
    const file = m[2]!;
    if (file === 'config') return { kind: 'config', release: m[1]!, compression: 'none' };
    if (file === 'System.map') return { kind: 'systemmap', release: m[1]!, compression: 'none' };
    if (file === 'symvers.gz') return { kind: 'symvers', release: m[1]!, compression: 'gzip' };
    if (file === 'symvers.xz') return { kind: 'symvers', release: m[1]!, compression: 'xz' };
    return { kind: 'vmlinuz', release: m[1]!, compression: 'none' };
  }
  m = BOOT_FILE.exec(path);
  if (m) {
    const [, file, release, suffix] = m;
    if (release === undefined || release.includes('/')) return null;
    if (file === 'symvers') {
      if (!suffix) return null;
      return { kind: 'symvers', release, compression: suffix === '.xz' ? 'xz' : 'gzip' };
    }
    if (suffix) return null;
    if (file === 'vmlinuz' || file === 'vmlinux') return { kind: 'vmlinuz', release, compression: 'none' };
    if (file === 'config') return { kind: 'config', release, compression: 'none' };
    return { kind: 'systemmap', release, compression: 'none' };
  }
  m = HEADERS_SYMVERS.exec(path);
  if (m) return { kind: 'symvers', release: (m[1] ?? m[2])!, compression: 'none' };
  return null;
}

const IN_TREE_MODULE = /^\/(?:usr\/)?lib\/modules\/[^/]+\/kernel\//;

/**
 * For a path `classifyPath` calls a module: true when it was built with the kernel (under
 * `/[usr/]lib/modules/<rel>/kernel/`), false for one installed beside it (`updates/`, `extra/`, DKMS).
 * A repository scanner tells kernel packages from out-of-tree module packages by this.
 */
export function isInTreeModule(name: string): boolean {
  const path = tryNormalizePath(name);
  return path !== null && IN_TREE_MODULE.test(path) && classifyPath(path)?.kind === 'module';
}
