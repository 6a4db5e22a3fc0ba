import { kernelBtfFeatures, type KernelBtfFeatures } from '@btfwatch/btf';

/**
 * The flavour in a release string: Debian's 6.1.0-56-amd64 → amd64, 6.1.0-56-cloud-amd64 → cloud-amd64,
 * 6.12.117+deb13-rt-amd64 → rt-amd64; Ubuntu's 6.8.0-31-generic → generic; openSUSE's 6.4.0-150600.23.25-default
 * → default; Proxmox's 6.8.12-4-pve → pve; Fedora/RHEL variants after a `+` (6.11.4-301.fc41.x86_64+debug →
 * debug). A plain Fedora/RHEL release (6.11.4-301.fc41.x86_64) has none.
 */
export function releaseFlavour(release: string): string | null {
  const rpmStyle =
    /^\d+\.\d+(?:\.\d+)?-[0-9][^+]*\.(?:x86_64|aarch64|ppc64le|s390x|i686)(?:\+([a-z0-9_-]+))?$/.exec(
      release,
    );
  if (rpmStyle) return rpmStyle[1] ?? null;
  const m =
    /^\d+\.\d+(?:\.\d+)?(?:-\d+(?:\.\d+)*)?(?:\+[a-z0-9.]+)?-((?=[a-z0-9-]*[a-z])[a-z0-9][a-z0-9-]*)$/.exec(
      release,
    );
  return m ? m[1]! : null;
}

/** Ubuntu's kernel flavours (linux, linux-aws, linux-azure, … source packages): `<x.y>.0-<abi>-<flavour>`. */
const UBUNTU_FLAVOURS = new Set([
  'generic',
  'generic-64k',
  'generic-lpae',
  'lowlatency',
  'lowlatency-64k',
  'aws',
  'azure',
  'azure-fde',
  'gcp',
  'gke',
  'gkeop',
  'oracle',
  'kvm',
  'ibm',
  'nvidia',
  'nvidia-64k',
  'raspi',
  'realtime',
  'oem',
  'intel-iotg',
]);
/** Debian's flavours end in the architecture (amd64, cloud-amd64, rt-arm64, 686-pae, armmp-lpae, …). */
const DEBIAN_FLAVOUR =
  /(?:^|-)(?:amd64|arm64|i386|686|686-pae|armmp|armmp-lpae|marvell|rpi|s390x|powerpc64le|powerpc64|riscv64|loong64|mips64r2el|octeon|4kc-malta|5kc-malta|loongson-3|m68k|alpha-generic|parisc|sparc64)$/;

/**
 * The distribution a kernel build's release string names, where its shape tells (null otherwise): what a
 * mirror with no configured distro stores. The packages of one build share the release, so they all
 * land in the same kernel build.
 */
export function distroFromRelease(release: string): string | null {
  if (/\.fc\d+\./.test(release)) return 'fedora';
  if (/\.el\d+(?:_\d+)?\./.test(release)) return 'rhel';
  if (/\.amzn\d+\./.test(release)) return 'amazon';
  if (/\+deb\d+/.test(release)) return 'debian';
  const flavour = releaseFlavour(release);
  if (flavour === null) return null;
  if (flavour === 'pve') return 'proxmox';
  if (/^\d+\.\d+\.\d+-\d+-/.test(release) && DEBIAN_FLAVOUR.test(flavour)) return 'debian';
  if (/^\d+\.\d+\.0-\d+-/.test(release) && UBUNTU_FLAVOURS.has(flavour)) return 'ubuntu';
  if (
    /^\d+\.\d+\.\d+-\d+(?:\.\d+)*-/.test(release) &&
    ['default', 'rt', '64kb', 'kvmsmall', 'azure', 'lpae', 'zfcpdump'].includes(flavour)
  )
    return 'opensuse';
  return null;
}

/**
 * Upstream kernel version: from the config header (`# Linux/x86 6.1.192 Kernel Configuration`), else the
 * package version (Debian's and Fedora's carry it: 6.1.192-2, 6.11.4). A version whose stable level
 * reads 0 (Ubuntu's 5.15.0-105.115, its config's 5.15.0) is taken only where no modelled check changes
 * within the series; otherwise null: the version is unknown, never guessed.
 */
export function upstreamVersion(configText: string | null, packageVersion: string): string | null {
  const fromConfig = configText
    ? /^# Linux\/\S+ (\d+\.\d+(?:\.\d+)?)\S* Kernel Configuration/m.exec(configText)
    : null;
  if (fromConfig && kernelVersionFromRelease(fromConfig[1]!)) return fromConfig[1]!;
  const fromPackage = /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)/.exec(packageVersion);
  return fromPackage && kernelVersionFromRelease(fromPackage[1]!) ? fromPackage[1]! : null;
}

/** An upstream kernel version and where it was read, for the user. */
export interface FoundKernelVersion {
  /** e.g. 6.1.192: what the validator's version-dependent checks key on. */
  version: string;
  how: string;
}

/**
 * The upstream version a kernel banner states — linux_banner in a vmlinux, /proc/version on a running
 * host: "Linux version <release> (<builder>) (<toolchain>) #<build> <flags> [<distro> <package version>]
 * (<date>)" — or null when it cannot be told soundly. `versionSignature` is Ubuntu's
 * /proc/version_signature ("Ubuntu 6.8.0-45.45-generic 6.8.12"), whose last field is the upstream version.
 */
export function kernelVersionFromBanner(
  banner: string,
  versionSignature: string | null = null,
): FoundKernelVersion | null {
  const release = /Linux version (\S+)/.exec(banner)?.[1];
  if (!release) return null;
  // After " #<build>": the toolchain part before it says "(Debian 12.2.0-14)" about gcc, not the kernel.
  const buildPart = banner.slice(banner.lastIndexOf(' #') + 1);
  const debian = / Debian (\d+\.\d+\.\d+)[-+~]/.exec(buildPart);
  if (debian) return { version: debian[1]!, how: `the Debian package version in the banner of ${release}` };
  const signature = versionSignature ? /^\S+ \S+ (\d+\.\d+\.\d+)\s*$/.exec(versionSignature) : null;
  if (signature)
    return { version: signature[1]!, how: `the upstream version in ${release}'s version signature` };
  return kernelVersionFromRelease(release);
}

/**
 * The upstream version in a release string, when it is one: 6.12.117+deb13-amd64 and
 * 6.11.4-301.fc41.x86_64 carry the stable level; Debian and Ubuntu ABI names (6.1.0-56-amd64,
 * 6.8.0-45-generic) write 0 there. A 0 is accepted only when no check the validator models changes
 * within that X.Y series, so the unknown stable level cannot change a verdict.
 */
export function kernelVersionFromRelease(release: string): FoundKernelVersion | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return null;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (patch > 0) return { version: `${major}.${minor}.${patch}`, how: `the release ${release}` };
  if (!sameChecksThroughSeries(major, minor)) return null;
  return {
    version: `${major}.${minor}.0`,
    how: `the release ${release} (its stable level is unknown, but no module BTF check changes within ${major}.${minor}.y)`,
  };
}

function sameChecksThroughSeries(major: number, minor: number): boolean {
  const first = kernelBtfFeatures([major, minor, 0]);
  const last = kernelBtfFeatures([major, minor, 0x7fffffff]);
  return (Object.keys(first) as Array<keyof KernelBtfFeatures>).every(
    (k) => k === 'version' || first[k] === last[k],
  );
}
