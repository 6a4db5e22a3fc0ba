import { ElfError, ElfFile } from '@btfwatch/elf';
import { Btf } from './btf.ts';
import { BtfError } from './errors.ts';
import { relocateSplit } from './relocate.ts';
import { HDR, magicByteOrder } from './wire.ts';

/** BTF as found in a file, before it is parsed against anything. */
export interface BtfFile {
  /** `raw`: the file is a BTF blob (a .btf dump, /sys/kernel/btf/*); `elf`: taken from an ELF's sections. */
  readonly format: 'raw' | 'elf';
  /** The .BTF bytes (for `raw`, the whole file). */
  readonly btf: Uint8Array;
  /** .BTF.base: the distilled base a module's split .BTF was generated against (pahole 1.28+). */
  readonly distilledBase?: Uint8Array;
  /**
   * The string section does not start with the empty string, which a base must: this is split BTF
   * (a module), to be parsed over a base. Split BTF whose own strings happen to start with a NUL
   * cannot be told apart; callers that know better should say so to `openBtf`.
   */
  readonly looksSplit: boolean;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * Take BTF out of a file's bytes: raw BTF (magic 0xeb9f, either byte order), a vmlinux ELF (its .BTF),
 * or a module ELF (.BTF, plus .BTF.base when present). Compressed files (vmlinuz, .ko.xz) must be
 * decompressed first. Throws BTF_BAD_CONTAINER for anything else, BTF_NOT_FOUND for an ELF without .BTF.
 */
export function readBtfFromFile(bytes: Uint8Array): BtfFile {
  if (magicByteOrder(bytes) !== null) return { format: 'raw', btf: bytes, looksSplit: looksSplit(bytes) };
  if (bytes.byteLength < 4 || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new BtfError('BTF_BAD_CONTAINER', 'neither raw BTF (magic 0xeb9f) nor an ELF file');
  }
  let elf: ElfFile;
  let btf: Uint8Array | undefined;
  let distilledBase: Uint8Array | undefined;
  try {
    elf = ElfFile.parse(bytes);
    btf = elf.sectionDataByName('.BTF');
    distilledBase = elf.sectionDataByName('.BTF.base');
  } catch (err) {
    if (err instanceof ElfError)
      throw new BtfError('BTF_BAD_CONTAINER', `unreadable ELF: ${err.message}`, { cause: err });
    throw err;
  }
  if (!btf) throw new BtfError('BTF_NOT_FOUND', 'ELF file has no .BTF section');
  return distilledBase
    ? { format: 'elf', btf, distilledBase, looksSplit: true }
    : { format: 'elf', btf, looksSplit: looksSplit(btf) };
}

/** A base's string section starts with the empty string; split BTF's own strings start with a name. */
function looksSplit(bytes: Uint8Array): boolean {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = magicByteOrder(bytes) ?? true;
    const hdrLen = view.getUint32(HDR.hdrLen, le);
    const strOff = view.getUint32(HDR.strOff, le);
    const strLen = view.getUint32(HDR.strLen, le);
    if (strLen === 0) return true;
    const first = bytes[hdrLen + strOff];
    return first !== undefined && first !== 0;
  } catch {
    return false;
  }
}

/**
 * Parse what `readBtfFromFile` found. Without `base`: a base blob (or, for a module with .BTF.base,
 * the split over its distilled base). With `base`: split BTF over it — relocated (btf__relocate
 * semantics) when the file carries a distilled base, read by id otherwise.
 */
export function openBtf(file: BtfFile, base?: Btf): Btf {
  if (file.distilledBase) {
    const distilled = Btf.parse(file.distilledBase);
    const split = Btf.parse(file.btf, distilled);
    return base ? relocateSplit(split, base).btf : split;
  }
  return Btf.parse(file.btf, base);
}
