import {
  ElfError,
  ElfFile,
  modInfoValue,
  readExportedCrcs,
  readImportedCrcs,
  readModInfo,
  type ExportedCrc,
} from '@btfwatch/elf';
import { CompatError } from './errors.ts';

/** What btfwatch keeps of one module file. */
export interface ModuleFacts {
  name: string;
  vermagic: string | null;
  srcversion: string | null;
  depends: string[];
  importedCrcs: Array<[string, number]>;
  /** Symbols it exports with their CRCs (null: none, or built without modversions). */
  exportedCrcs: ExportedCrc[] | null;
  /** The split .BTF section, or null when the module has none. */
  btf: Uint8Array | null;
  /** The distilled base (.BTF.base), when the module carries one. */
  btfBase: Uint8Array | null;
}

/** Module name as the kernel knows it: .modinfo `name`, else the file name with `-` folded to `_`. */
function nameFromPath(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.(xz|zst|gz|bz2))?$/, '');
  return file.replace(/-/g, '_');
}

/** Reads a (decompressed) module ELF; malformed ELF becomes a CompatError naming the file. */
const ET_REL = 1;

export function readModuleFacts(path: string, elfBytes: Uint8Array): ModuleFacts {
  try {
    const elf = ElfFile.parse(elfBytes);
    // A module is a relocatable object (ET_REL) with sections; a vmlinux is ET_EXEC, and an ELF header
    // followed by zeros has none. Neither may pass for a module that "loads with BTF".
    if (elf.header.type !== ET_REL)
      throw new CompatError(
        'COMPAT_NOT_A_MODULE',
        `${path}: ELF type ${elf.header.type} is not a kernel module (modules are relocatable objects, ET_REL; a vmlinux is ET_EXEC)`,
      );
    if (elf.sections.length === 0)
      throw new CompatError(
        'COMPAT_NOT_A_MODULE',
        `${path}: an ELF header without sections is not a kernel module`,
      );
    const info = readModInfo(elf);
    const btf = elf.sectionDataByName('.BTF');
    const btfBase = elf.sectionDataByName('.BTF.base');
    return {
      name: modInfoValue(info, 'name') ?? nameFromPath(path),
      vermagic: modInfoValue(info, 'vermagic') ?? null,
      srcversion: modInfoValue(info, 'srcversion') ?? null,
      depends: (modInfoValue(info, 'depends') ?? '').split(',').filter(Boolean),
      importedCrcs: readImportedCrcs(elf).map((c) => [c.symbol, c.crc]),
      exportedCrcs: readExportedCrcs(elf),
      btf: btf && btf.byteLength > 0 ? btf : null,
      btfBase: btfBase && btfBase.byteLength > 0 ? btfBase : null,
    };
  } catch (err) {
    if (err instanceof ElfError)
      throw new CompatError('COMPAT_BAD_INPUT', `${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The symbols a vmlinux ELF exports with their CRCs; null when it carries none (no MODVERSIONS). */
export function readVmlinuxExports(vmlinuxElf: Uint8Array): ExportedCrc[] | null {
  try {
    return readExportedCrcs(ElfFile.parse(vmlinuxElf));
  } catch (err) {
    if (err instanceof ElfError)
      throw new CompatError('COMPAT_BAD_INPUT', `vmlinux exports: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The vmlinux .BTF section (what /sys/kernel/btf/vmlinux serves), or null when the kernel has none. */
export function readVmlinuxBtf(vmlinuxElf: Uint8Array): Uint8Array | null {
  try {
    const btf = ElfFile.parse(vmlinuxElf).sectionDataByName('.BTF');
    return btf && btf.byteLength > 0 ? btf : null;
  } catch (err) {
    if (err instanceof ElfError)
      throw new CompatError('COMPAT_BAD_INPUT', `vmlinux: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * The vermagic string a vmlinux compiled in (kernel/module: `vermagic[] = VERMAGIC_STRING`, what it compares a
 * module's against): the one NUL-terminated string that starts with its release and names `mod_unload`. Null
 * when there is not exactly one.
 */
export function vermagicFromImage(vmlinux: Uint8Array, release: string): string | null {
  const bytes = Buffer.from(vmlinux.buffer, vmlinux.byteOffset, vmlinux.byteLength);
  const needle = Buffer.from(`\0${release} `, 'latin1');
  const found = new Set<string>();
  for (let at = bytes.indexOf(needle); at >= 0 && found.size < 2; at = bytes.indexOf(needle, at + 1)) {
    const end = bytes.indexOf(0, at + 1);
    if (end < 0 || end - at > 256) continue;
    const text = bytes.toString('latin1', at + 1, end);
    if (/^\S+( [a-zA-Z0-9_.-]+)* $/.test(text) && / mod_unload /.test(text)) found.add(text);
  }
  return found.size === 1 ? [...found][0]! : null;
}
