import { readFile, realpath } from 'node:fs/promises';
import { BTF_MAGIC } from '@btfwatch/btf';
import { kernelVersionFromBanner, type FoundKernelVersion } from '@btfwatch/compat';
import { PkgBadMagicError, compressedModuleSuffix, decompressModule, extractVmlinux } from '@btfwatch/pkg';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

function isRawBtf(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 2) return false;
  return (bytes[0]! | (bytes[1]! << 8)) === BTF_MAGIC || ((bytes[0]! << 8) | bytes[1]!) === BTF_MAGIC;
}

const isElf = (bytes: Uint8Array) =>
  bytes.byteLength >= 4 && Buffer.from(bytes.subarray(0, 4)).equals(ELF_MAGIC);

/**
 * Whatever a user points btfwatch at, as ELF or raw BTF bytes: raw BTF (/sys/kernel/btf/*), vmlinux
 * or module ELF, a vmlinuz (bzImage or compressed), or a compressed module (.ko.xz, .ko.zst, .ko.gz).
 */
export async function readBtfContainer(path: string): Promise<Uint8Array> {
  const bytes = await readFile(path);
  if (isRawBtf(bytes) || isElf(bytes)) return bytes;
  const suffix = compressedModuleSuffix(bytes);
  if (/\.ko(\.(xz|zst|gz))?$/.test(path)) {
    if (!suffix)
      throw new PkgBadMagicError(`${path}: not an ELF module, and not xz, zstd or gzip compressed`);
    return decompressModule(`module${suffix}`, bytes);
  }
  return extractVmlinux(bytes);
}

/** The kernel banner in a vmlinux ("Linux version 6.1.0-56-amd64 (...) #1 SMP ... Debian 6.1.192-2 (...)"), when present. */
export function vmlinuxBanner(vmlinux: Uint8Array): string | null {
  const text = Buffer.from(vmlinux.buffer, vmlinux.byteOffset, vmlinux.byteLength);
  const needle = Buffer.from('Linux version ');
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const line = text
      .subarray(at, at + 512)
      .toString('latin1')
      .split(/[\0\n]/)[0]!;
    if (/^Linux version \d+\.\d+/.test(line)) return line;
  }
  return null;
}

/** Where a running Linux exposes its own BTF, and the files that say which kernel it is. */
export const HOST_FILES = {
  btf: '/sys/kernel/btf/vmlinux',
  banner: '/proc/version',
  /** Ubuntu only: "Ubuntu 6.8.0-45.45-generic 6.8.12". */
  signature: '/proc/version_signature',
} as const;

/** Is `path` (whose bytes are `bytes`) the BTF of the kernel running this process? By path or by content. */
export async function isRunningKernelBtf(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    if ((await realpath(path)) === HOST_FILES.btf) return true;
    const host = await readFile(HOST_FILES.btf);
    return Buffer.from(host).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return false;
  }
}

/** /proc/version and /proc/version_signature of the running kernel (null where absent). */
export async function runningKernelBanner(): Promise<{ banner: string; signature: string | null } | null> {
  const read = (p: string) =>
    readFile(p, 'utf8').then(
      (t) => t.trim(),
      () => null,
    );
  const banner = await read(HOST_FILES.banner);
  return banner ? { banner, signature: await read(HOST_FILES.signature) } : null;
}

/**
 * The upstream version of the kernel whose BTF `bytes` (read from `path`) hold, when it can be told
 * soundly: the banner of a vmlinux or vmlinuz; for the running kernel's own BTF, /proc/version.
 * Raw BTF from elsewhere says nothing about its version: null.
 */
export async function kernelVersionOf(path: string, bytes: Uint8Array): Promise<FoundKernelVersion | null> {
  const banner = vmlinuxBanner(bytes);
  const fromBanner = banner ? kernelVersionFromBanner(banner) : null;
  if (fromBanner) return fromBanner;
  if (!(await isRunningKernelBtf(path, bytes))) return null;
  const host = await runningKernelBanner();
  const found = host ? kernelVersionFromBanner(host.banner, host.signature) : null;
  return found
    ? { version: found.version, how: `the running kernel (${HOST_FILES.banner}): ${found.how}` }
    : null;
}
