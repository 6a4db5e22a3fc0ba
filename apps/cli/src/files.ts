import { readFile, realpath } from 'node:fs/promises';
import { BtfError, magicByteOrder } from '@btfwatch/btf';
import { kernelVersionFromBanner, type FoundKernelVersion } from '@btfwatch/compat';
import {
  PkgBadMagicError,
  compressedModuleSuffix,
  decompressModule,
  describeLayers,
  readKernelImage,
  type KernelImage,
} from '@btfwatch/pkg';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

const isElf = (bytes: Uint8Array) =>
  bytes.byteLength >= 4 && Buffer.from(bytes.subarray(0, 4)).equals(ELF_MAGIC);

const isModulePath = (path: string) => /\.ko(\.(xz|zst|gz))?$/.test(path);

/** What the kernel image a path held said about the bytes readBtfContainer returned for it. */
const images = new WeakMap<Uint8Array, KernelImage>();

/** The kernel image the bytes came out of (banner, byte order, layers), when they came out of one. */
export function kernelImageOf(bytes: Uint8Array): KernelImage | null {
  return images.get(bytes) ?? null;
}

/** A file as btfwatch reads it: BTF-bearing bytes, or a kernel image (with or without BTF). */
export type KernelOrModuleFile =
  { kind: 'bytes'; bytes: Uint8Array } | { kind: 'image'; image: KernelImage; bytes: Uint8Array | null };

/**
 * Reads `path` without deciding what is missing: raw BTF, a module (ELF or .ko.xz/.ko.zst/.ko.gz)
 * and ELF files as bytes; anything else as a kernel image of any layout readKernelImage knows, whose
 * `bytes` are its vmlinux ELF or, for raw images, its BTF — null when the kernel was built without BTF.
 */
export async function readKernelOrModule(path: string): Promise<KernelOrModuleFile> {
  const bytes = await readFile(path);
  if (magicByteOrder(bytes) !== null) return { kind: 'bytes', bytes };
  if (isModulePath(path) && !isElf(bytes)) {
    const suffix = compressedModuleSuffix(bytes);
    if (!suffix)
      throw new PkgBadMagicError(`${path}: not an ELF module, and not xz, zstd or gzip compressed`);
    return { kind: 'bytes', bytes: await decompressModule(`module${suffix}`, bytes) };
  }
  // A module ELF, or a vmlinux ELF whose .BTF readBtfFromFile takes as it is.
  if (isElf(bytes) && (isModulePath(path) || !isVmlinuxElf(bytes))) return { kind: 'bytes', bytes };
  const image = await readKernelImage(bytes);
  const out = image.btf ? (image.vmlinux ?? image.btf) : null;
  if (out) images.set(out, image);
  return { kind: 'image', image, bytes: out };
}

/** An ELF with a Linux banner is a vmlinux (a module has none): worth reading as a kernel image. */
function isVmlinuxElf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('Linux version ');
}

/**
 * Whatever a user points btfwatch at, as ELF or raw BTF bytes: raw BTF (/sys/kernel/btf/*), vmlinux
 * or module ELF, a compressed module (.ko.xz, .ko.zst, .ko.gz), or a kernel image of any layout
 * (bzImage, arm64/riscv64 Image, Image.gz, EFI zboot, ARM zImage, s390 image). A kernel built without
 * BTF is BTF_NOT_FOUND, saying why.
 */
export async function readBtfContainer(path: string): Promise<Uint8Array> {
  const file = await readKernelOrModule(path);
  if (file.kind === 'bytes') return file.bytes;
  if (file.bytes) return file.bytes;
  throw new BtfError(
    'BTF_NOT_FOUND',
    `${path}: ${describeLayers(file.image.layers)}${file.image.release ? ` of ${file.image.release}` : ''} has no BTF: ${file.image.noBtf}`,
  );
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
  const banner = kernelImageOf(bytes)?.banner ?? vmlinuxBanner(bytes);
  const fromBanner = banner ? kernelVersionFromBanner(banner) : null;
  if (fromBanner) return fromBanner;
  if (!(await isRunningKernelBtf(path, bytes))) return null;
  const host = await runningKernelBanner();
  const found = host ? kernelVersionFromBanner(host.banner, host.signature) : null;
  return found
    ? { version: found.version, how: `the running kernel (${HOST_FILES.banner}): ${found.how}` }
    : null;
}
