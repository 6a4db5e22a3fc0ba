import { ElfError } from './errors.ts';
import type { ElfFile } from './elf.ts';
import { ByteReader } from './reader.ts';

/** Key/value pairs from a module's .modinfo section (keys may repeat, e.g. `alias`, `depends`). */
export type ModInfo = Map<string, string[]>;

export function readModInfo(elf: ElfFile): ModInfo {
  const info: ModInfo = new Map();
  const data = elf.sectionDataByName('.modinfo');
  if (!data) return info;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const list = info.get(key) ?? [];
    list.push(entry.slice(eq + 1));
    info.set(key, list);
  }
  return info;
}

export function modInfoValue(info: ModInfo, key: string): string | undefined {
  return info.get(key)?.[0];
}

/** A symbol a module imports together with the modversions CRC it was built against. */
export interface ImportedCrc {
  symbol: string;
  crc: number;
}

/**
 * Imported symbol CRCs: `__versions` holds fixed-size `struct modversion_info` records
 * (`unsigned long crc; char name[64 - sizeof(long)]`); kernels with CONFIG_EXTENDED_MODVERSIONS (6.14+)
 * add `__version_ext_crcs` (u32 array) + `__version_ext_names` (NUL-separated) for names too long
 * for the fixed record. Both are read and merged.
 */
export function readImportedCrcs(elf: ElfFile): ImportedCrc[] {
  const out: ImportedCrc[] = [];
  const le = elf.header.littleEndian;
  const versions = elf.sectionDataByName('__versions');
  if (versions) {
    const longSize = elf.header.class === 64 ? 8 : 4;
    const recordSize = 64;
    if (versions.byteLength % recordSize !== 0) {
      throw new ElfError('ELF_MALFORMED', `__versions: size ${versions.byteLength} is not a multiple of 64`);
    }
    const r = new ByteReader(versions, le);
    const text = Buffer.from(versions.buffer, versions.byteOffset, versions.byteLength);
    // The CRC is 32 bits wide even where `unsigned long` is 64: its low half.
    const crcAt = longSize === 8 && !le ? 4 : 0;
    for (let off = 0; off < versions.byteLength; off += recordSize) {
      const crc = r.u32(off + crcAt);
      const start = off + longSize;
      const nul = text.indexOf(0, start);
      const end = nul < 0 || nul > off + recordSize ? off + recordSize : nul;
      const symbol = text.toString('latin1', start, end);
      if (symbol) out.push({ symbol, crc });
    }
  }
  const extCrcs = elf.sectionDataByName('__version_ext_crcs');
  const extNames = elf.sectionDataByName('__version_ext_names');
  if (extCrcs && extNames) {
    const names = Buffer.from(extNames).toString('latin1').split('\0');
    const r = new ByteReader(extCrcs, le);
    const count = Math.floor(extCrcs.byteLength / 4);
    for (let i = 0; i < count; i++) {
      const symbol = names[i];
      if (symbol) out.push({ symbol, crc: r.u32(i * 4) });
    }
  }
  return out;
}
