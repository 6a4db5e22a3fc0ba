import { readFile } from 'node:fs/promises';
import { BTF_MAGIC } from '@btfwatch/btf';
import { PkgBadMagicError, decompressModule, detectCompression, extractVmlinux } from '@btfwatch/pkg';

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
  const compression = detectCompression(bytes);
  const suffix =
    compression === 'xz'
      ? '.ko.xz'
      : compression === 'zstd'
        ? '.ko.zst'
        : compression === 'gzip'
          ? '.ko.gz'
          : null;
  if (/\.ko(\.(xz|zst|gz))?$/.test(path)) {
    if (!suffix)
      throw new PkgBadMagicError(`${path}: not an ELF module, and not xz, zstd or gzip compressed`);
    return decompressModule(`module${suffix}`, bytes);
  }
  return extractVmlinux(bytes);
}

/** The upstream version in a vmlinux's banner ("Linux version 6.1.192 ..."), when present. */
export function bannerVersion(vmlinux: Uint8Array): string | null {
  const needle = Buffer.from('Linux version ');
  const at = Buffer.from(vmlinux.buffer, vmlinux.byteOffset, vmlinux.byteLength).indexOf(needle);
  if (at < 0) return null;
  const m = /^(\d+\.\d+(?:\.\d+)?)/.exec(
    Buffer.from(vmlinux.subarray(at + needle.length, at + needle.length + 32)).toString('latin1'),
  );
  return m ? m[1]! : null;
}
