import { ElfError } from './errors.ts';
import { cString, SHT_NOBITS, type ElfFile, type Section } from './elf.ts';
import { ByteReader } from './reader.ts';

/** A symbol the kernel (vmlinux) or a module exports, with its modversions CRC. */
export interface ExportedCrc {
  symbol: string;
  crc: number;
  /** EXPORT_SYMBOL or EXPORT_SYMBOL_GPL, as Module.symvers writes it. */
  exportType: 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL';
}

const TABLES = [
  { ksymtab: '__ksymtab', kcrctab: '__kcrctab', exportType: 'EXPORT_SYMBOL' },
  { ksymtab: '__ksymtab_gpl', kcrctab: '__kcrctab_gpl', exportType: 'EXPORT_SYMBOL_GPL' },
] as const;

/**
 * The exported symbols of a vmlinux or a module with their CRCs, or null when it carries no CRCs (built
 * without CONFIG_MODVERSIONS, or exporting nothing).
 *
 * EXPORT_SYMBOL puts one `struct kernel_symbol` in `___ksymtab+<name>` and the CRC in `___kcrctab+<name>`
 * (include/linux/export-internal.h, SYMBOL_CRC); the linker scripts (include/asm-generic/vmlinux.lds.h,
 * scripts/module.lds.S) gather both with SORT(), so the i-th CRC belongs to the i-th symbol. The names come
 * from the symbol table where there is one (`__ksymtab_<name>` labels each entry: modules, unstripped
 * vmlinux), else from the entries themselves, whose name field points into `__ksymtab_strings`: a 32-bit
 * place-relative offset where the architecture has PREL32 relocations (x86_64, arm64, ppc64, s390, riscv),
 * an absolute pointer otherwise. CRCs are absolute u32 values since 5.19 (and on every architecture but
 * ppc64 before, which had CONFIG_MODULE_REL_CRCS).
 */
export function readExportedCrcs(elf: ElfFile): ExportedCrc[] | null {
  const out: ExportedCrc[] = [];
  let tables = 0;
  let labels: Map<number, Array<{ value: number; name: string }>> | undefined;
  for (const t of TABLES) {
    const ksymtab = elf.section(t.ksymtab);
    const kcrctab = elf.section(t.kcrctab);
    if (!ksymtab || !kcrctab || ksymtab.size === 0) continue;
    tables++;
    const crcs = elf.sectionData(kcrctab);
    if (crcs.byteLength % 4 !== 0)
      throw new ElfError('ELF_MALFORMED', `${t.kcrctab}: size ${crcs.byteLength} is not a multiple of 4`);
    const count = crcs.byteLength / 4;
    labels ??= ksymtabLabels(elf);
    const names =
      namesFromLabels(labels.get(ksymtab.index), count) ?? namesFromEntries(elf, ksymtab, count, t.ksymtab);
    const r = new ByteReader(crcs, elf.header.littleEndian);
    for (let i = 0; i < count; i++)
      out.push({ symbol: names[i]!, crc: r.u32(i * 4), exportType: t.exportType });
  }
  return tables === 0 ? null : out;
}

/** `__ksymtab_<name>` symbols by the section they label, each with its offset in it. */
function ksymtabLabels(elf: ElfFile): Map<number, Array<{ value: number; name: string }>> {
  const bySection = new Map<number, Array<{ value: number; name: string }>>();
  for (const s of elf.symbolsStartingWith('__ksymtab_')) {
    const section = elf.sections[s.shndx];
    if (!section || !section.name.startsWith('__ksymtab')) continue;
    // ET_REL symbols hold section offsets; linked objects hold addresses.
    const value = Number(s.value - (elf.header.type === 1 ? 0n : section.addr));
    const list = bySection.get(s.shndx) ?? [];
    list.push({ value, name: s.name.slice('__ksymtab_'.length) });
    bySection.set(s.shndx, list);
  }
  return bySection;
}

function namesFromLabels(labels: Array<{ value: number; name: string }> | undefined, count: number) {
  if (!labels || labels.length !== count) return null;
  return labels.sort((a, b) => a.value - b.value).map((l) => l.name);
}

/** The names the entries of a linked vmlinux's ksymtab point at. */
function namesFromEntries(elf: ElfFile, ksymtab: Section, count: number, what: string): string[] {
  const entries = new ByteReader(elf.sectionData(ksymtab), elf.header.littleEndian);
  const entrySize = ksymtab.size / count;
  const is64 = elf.header.class === 64;
  if (!Number.isInteger(entrySize) || (entrySize !== 12 && entrySize !== (is64 ? 24 : 12)))
    throw new ElfError(
      'ELF_MALFORMED',
      `${what}: ${ksymtab.size} bytes for ${count} CRCs is no struct kernel_symbol layout`,
    );
  const strings = elf.section('__ksymtab_strings');
  if (!strings) throw new ElfError('ELF_MALFORMED', `${what} without __ksymtab_strings`);
  const table = elf.sectionData(strings);
  const nameAt = (address: bigint) => {
    const offset = address - strings.addr;
    if (strings.type === SHT_NOBITS || offset < 0n || offset >= BigInt(table.byteLength)) return undefined;
    return cString(table, Number(offset));
  };
  // 64-bit entries of 24 bytes hold pointers; 12-byte entries hold PREL32 offsets, or 32-bit pointers.
  const absolute = entrySize === 24 || (!is64 && nameAt(BigInt(entries.u32(4))) !== undefined);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const field = i * entrySize + (entrySize === 24 ? 8 : 4);
    const address = absolute
      ? entrySize === 24
        ? entries.u64(field)
        : BigInt(entries.u32(field))
      : ksymtab.addr + BigInt(field) + BigInt(entries.view.getInt32(field, elf.header.littleEndian));
    const name = nameAt(address);
    if (name === undefined)
      throw new ElfError(
        'ELF_MALFORMED',
        `${what}[${i}]: name at 0x${address.toString(16)} is outside __ksymtab_strings`,
      );
    names.push(name);
  }
  return names;
}
