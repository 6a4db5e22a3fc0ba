// Recognising the kernel image layouts Debian, Ubuntu, Fedora and RHEL ship, by the headers their boot
// protocols define. Pure byte checks; nothing here decompresses.

import type { Compression } from './compression.ts';

export type ImageFormat =
  /** A vmlinux ELF (ppc64el /boot/vmlinux-*, any uncompressed vmlinux). */
  | 'elf'
  /** x86 bzImage: setup header, compressed ELF payload (Documentation/arch/x86/boot.rst). */
  | 'bzimage'
  /** EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): "MZ", "zimg", payload offset/size, compression name. */
  | 'efi-zboot'
  /** arm64 Image (Documentation/arch/arm64/booting.rst): "ARM\x64" at 0x38, PE-wrapped ("MZ") with the EFI stub or not. */
  | 'arm64-image'
  /** riscv Image (Documentation/arch/riscv/boot-image-header.rst): "RISCV\0\0\0" at 0x30, "RSC\x05" at 0x38. */
  | 'riscv-image'
  /** 32-bit ARM zImage: magic 0x016f2818 at 0x24, a decompressor followed by the compressed Image. */
  | 'arm-zimage'
  /** s390 boot image: IPL PSW at 0, a decompressor, the compressed raw kernel, the "zIPL" trailer. */
  | 's390-image'
  /** A whole-file compressed stream (Ubuntu's arm64 Image.gz). */
  | 'compressed'
  /** Uncompressed kernel bytes with no header we know, told by the `Linux version` banner. */
  | 'raw';

const ELF = [0x7f, 0x45, 0x4c, 0x46];

const at = (b: Uint8Array, off: number, bytes: readonly number[]) => bytes.every((v, i) => b[off + i] === v);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const u32le = (b: Uint8Array, off: number) =>
  ((b[off] as number) |
    ((b[off + 1] as number) << 8) |
    ((b[off + 2] as number) << 16) |
    ((b[off + 3] as number) << 24)) >>>
  0;

export function isElf(b: Uint8Array): boolean {
  return at(b, 0, ELF);
}

export function isBzImage(b: Uint8Array): boolean {
  // boot_flag 0xaa55 at 0x1fe and "HdrS" at 0x202.
  return b.length >= 0x250 && b[0x1fe] === 0x55 && b[0x1ff] === 0xaa && at(b, 0x202, ascii('HdrS'));
}

export function isArm64Image(b: Uint8Array): boolean {
  return at(b, 0x38, [0x41, 0x52, 0x4d, 0x64]);
}

export function isRiscvImage(b: Uint8Array): boolean {
  return at(b, 0x30, ascii('RISCV\0\0\0')) || at(b, 0x38, [0x52, 0x53, 0x43, 0x05]);
}

export function isArmZImage(b: Uint8Array): boolean {
  // Little- or big-endian ARM: the magic word as the CPU stores it.
  return at(b, 0x24, [0x18, 0x28, 0x6f, 0x01]) || at(b, 0x24, [0x01, 0x6f, 0x28, 0x18]);
}

/**
 * s390: the IPL PSW (a 64-bit PSW with only the EA/BA bits set, arch/s390/boot/ipl_data.c) at 0, and
 * since the secure-boot trailer (arch/s390/boot/vmlinux.lds.S) the last 8 bytes "\0\0\0 zIPL".
 */
export function isS390Image(b: Uint8Array): boolean {
  if (b.length < 24) return false;
  const trailer = at(b, b.length - 8, [0, 0, 0, 0x20, 0x7a, 0x49, 0x50, 0x4c]);
  return trailer || (at(b, 0, [0x00, 0x08, 0x00, 0x00, 0x80, 0x00]) && at(b, 8, [0x02, 0x00]));
}

export interface ZbootHeader {
  payloadOffset: number;
  payloadSize: number;
  /** The compression name the stub was built with: "gzip", "zstd", "lzma", "xz", "lz4", "lzo", "bzip2". */
  compressionName: string;
  compression: Exclude<Compression, 'none'> | null;
}

/** The EFI zboot header, or null when `b` is not one. */
export function readZbootHeader(b: Uint8Array): ZbootHeader | null {
  if (b.length < 0x40 || !at(b, 0, [0x4d, 0x5a]) || !at(b, 4, ascii('zimg'))) return null;
  const nameBytes = b.subarray(24, 24 + 32);
  const nul = nameBytes.indexOf(0);
  const compressionName = Buffer.from(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)).toString('latin1');
  const known: Record<string, Exclude<Compression, 'none'>> = {
    gzip: 'gzip',
    zstd: 'zstd',
    xz: 'xz',
    lzma: 'lzma',
    lz4: 'lz4',
    bzip2: 'bzip2',
  };
  return {
    payloadOffset: u32le(b, 8),
    payloadSize: u32le(b, 12),
    compressionName,
    compression: known[compressionName] ?? null,
  };
}
