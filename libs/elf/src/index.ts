export { ElfFile, SHF_COMPRESSED, SHT_DYNSYM, SHT_NOBITS, SHT_SYMTAB, cString } from './elf.ts';
export type { ElfHeader, ElfSymbol, ReadOptions, Section } from './elf.ts';
export { ElfError } from './errors.ts';
export type { ElfErrorCode } from './errors.ts';
export { modInfoValue, readImportedCrcs, readModInfo } from './kmod.ts';
export type { ImportedCrc, ModInfo } from './kmod.ts';
export { readExportedCrcs } from './exports.ts';
export type { ExportedCrc } from './exports.ts';
