import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { ElfError } from './errors.ts';
import { ByteReader } from './reader.ts';

export const SHT_NOBITS = 8;
export const SHT_SYMTAB = 2;
export const SHT_DYNSYM = 11;
export const SHF_COMPRESSED = 0x800;
const SHN_XINDEX = 0xffff;
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

export interface ElfHeader {
  class: 32 | 64;
  littleEndian: boolean;
  type: number;
  machine: number;
}

export interface Section {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  info: number;
  other: number;
  shndx: number;
}

export interface ReadOptions {
  /** Upper bound for a decompressed SHF_COMPRESSED section (bytes). */
  maxDecompressedSize?: number;
}

const DEFAULT_MAX_DECOMPRESSED = 512 * 1024 * 1024;

/** An ELF file opened over its bytes; sections are parsed eagerly (cheap), contents on demand. */
export class ElfFile {
  readonly header: ElfHeader;
  readonly sections: readonly Section[];
  private readonly reader: ByteReader;

  private constructor(reader: ByteReader, header: ElfHeader, sections: Section[]) {
    this.reader = reader;
    this.header = header;
    this.sections = sections;
  }

  static parse(bytes: Uint8Array): ElfFile {
    if (
      bytes.byteLength < 16 ||
      bytes[0] !== 0x7f ||
      bytes[1] !== 0x45 ||
      bytes[2] !== 0x4c ||
      bytes[3] !== 0x46
    ) {
      throw new ElfError('ELF_BAD_MAGIC', 'not an ELF file (bad magic)');
    }
    const elfClass = bytes[4];
    const data = bytes[5];
    if (elfClass !== 1 && elfClass !== 2)
      throw new ElfError('ELF_UNSUPPORTED', `unknown ELF class ${elfClass}`);
    if (data !== 1 && data !== 2) throw new ElfError('ELF_UNSUPPORTED', `unknown ELF data encoding ${data}`);
    const is64 = elfClass === 2;
    const r = new ByteReader(bytes, data === 1);
    const header: ElfHeader = {
      class: is64 ? 64 : 32,
      littleEndian: data === 1,
      type: r.u16(16),
      machine: r.u16(18),
    };

    const shoff = is64 ? r.u64Number(40, 'e_shoff') : r.u32(32);
    const shentsize = r.u16(is64 ? 58 : 46);
    let shnum = r.u16(is64 ? 60 : 48);
    let shstrndx = r.u16(is64 ? 62 : 50);
    if (shoff === 0) return new ElfFile(r, header, []);
    const expectedEntSize = is64 ? 64 : 40;
    if (shentsize !== expectedEntSize) {
      throw new ElfError('ELF_MALFORMED', `e_shentsize ${shentsize}, expected ${expectedEntSize}`);
    }
    const raw0 = readSectionHeader(r, shoff, is64, 0);
    if (shnum === 0) shnum = raw0.size;
    if (shstrndx === SHN_XINDEX) shstrndx = raw0.link;
    r.check(shoff, shnum * shentsize, 'section header table');

    const headers: Section[] = [];
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      nameOffsets.push(r.u32(at));
      headers.push(readSectionHeader(r, at, is64, i));
    }
    const shstr = headers[shstrndx];
    if (shstrndx !== 0 && !shstr) throw new ElfError('ELF_MALFORMED', `e_shstrndx ${shstrndx} out of range`);
    const names = shstr ? sectionData(r, shstr) : new Uint8Array(0);
    headers.forEach((section, i) => (section.name = cString(names, nameOffsets[i] ?? 0)));
    return new ElfFile(r, header, headers);
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Section contents, decompressed when SHF_COMPRESSED; a view into the file bytes otherwise. */
  sectionData(section: Section, options: ReadOptions = {}): Uint8Array {
    const raw = sectionData(this.reader, section);
    if ((section.flags & BigInt(SHF_COMPRESSED)) === 0n) return raw;
    return decompressSection(
      raw,
      this.header,
      section.name,
      options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED,
    );
  }

  sectionDataByName(name: string, options?: ReadOptions): Uint8Array | undefined {
    const s = this.section(name);
    return s ? this.sectionData(s, options) : undefined;
  }

  /** Symbols from .symtab (or .dynsym when there is no .symtab). */
  symbols(): ElfSymbol[] {
    return this.readSymbols(null);
  }

  /**
   * The symbols whose name starts with `prefix` (ASCII): names are compared as bytes and only the matching ones
   * decoded, which is what makes looking for a few labels among a module's thousands of symbols cheap.
   */
  symbolsStartingWith(prefix: string): ElfSymbol[] {
    return this.readSymbols(Buffer.from(prefix, 'latin1'));
  }

  private readSymbols(prefix: Buffer | null): ElfSymbol[] {
    const table =
      this.sections.find((s) => s.type === SHT_SYMTAB) ?? this.sections.find((s) => s.type === SHT_DYNSYM);
    if (!table) return [];
    const strtab = this.sections[table.link];
    if (!strtab) throw new ElfError('ELF_MALFORMED', `symbol table ${table.name}: bad sh_link ${table.link}`);
    const names = this.sectionData(strtab);
    const data = this.sectionData(table);
    const is64 = this.header.class === 64;
    const entsize = is64 ? 24 : 16;
    const r = new ByteReader(data, this.header.littleEndian);
    const out: ElfSymbol[] = [];
    for (let off = 0; off + entsize <= data.byteLength; off += entsize) {
      const nameOff = r.u32(off);
      if (prefix && !startsWithAt(names, nameOff, prefix)) continue;
      out.push(
        is64
          ? {
              name: cString(names, nameOff),
              info: r.u8(off + 4),
              other: r.u8(off + 5),
              shndx: r.u16(off + 6),
              value: r.u64(off + 8),
              size: r.u64(off + 16),
            }
          : {
              name: cString(names, nameOff),
              value: BigInt(r.u32(off + 4)),
              size: BigInt(r.u32(off + 8)),
              info: r.u8(off + 12),
              other: r.u8(off + 13),
              shndx: r.u16(off + 14),
            },
      );
    }
    return out;
  }
}

function readSectionHeader(r: ByteReader, at: number, is64: boolean, index: number): Section {
  // The name is resolved once the section-name string table is known. Plain literals, no spread:
  // on Node 20 a spread into a literal with more properties is ~10× slower, and this runs for every
  // section of every module of a package.
  const type = r.u32(at + 4);
  if (is64) {
    return {
      index,
      name: '',
      type,
      flags: r.u64(at + 8),
      addr: r.u64(at + 16),
      offset: r.u64Number(at + 24, 'sh_offset'),
      size: r.u64Number(at + 32, 'sh_size'),
      link: r.u32(at + 40),
      info: r.u32(at + 44),
      entsize: r.u64Number(at + 56, 'sh_entsize'),
    };
  }
  return {
    index,
    name: '',
    type,
    flags: BigInt(r.u32(at + 8)),
    addr: BigInt(r.u32(at + 12)),
    offset: r.u32(at + 16),
    size: r.u32(at + 20),
    link: r.u32(at + 24),
    info: r.u32(at + 28),
    entsize: r.u32(at + 36),
  };
}

function sectionData(r: ByteReader, s: Section): Uint8Array {
  if (s.type === SHT_NOBITS) return new Uint8Array(0);
  return r.slice(s.offset, s.size, `section [${s.index}] ${s.name}`);
}

function decompressSection(raw: Uint8Array, header: ElfHeader, name: string, limit: number): Uint8Array {
  const r = new ByteReader(raw, header.littleEndian);
  const is64 = header.class === 64;
  const chdrSize = is64 ? 24 : 12;
  r.check(0, chdrSize, `compressed section ${name} header`);
  const type = r.u32(0);
  const size = is64 ? r.u64Number(8, 'ch_size') : r.u32(4);
  if (size > limit)
    throw new ElfError('ELF_MALFORMED', `compressed section ${name}: ch_size ${size} exceeds limit`);
  const payload = raw.subarray(chdrSize);
  let out: Uint8Array;
  try {
    if (type === ELFCOMPRESS_ZLIB) out = inflateSync(payload, { maxOutputLength: Math.max(size, 1) });
    else if (type === ELFCOMPRESS_ZSTD) out = zstdDecompress(payload, new Uint8Array(size));
    else throw new ElfError('ELF_UNSUPPORTED', `compressed section ${name}: unknown ch_type ${type}`);
  } catch (err) {
    if (err instanceof ElfError) throw err;
    throw new ElfError('ELF_MALFORMED', `compressed section ${name}: corrupt payload`, { cause: err });
  }
  if (out.byteLength !== size) {
    throw new ElfError(
      'ELF_MALFORMED',
      `compressed section ${name}: ${out.byteLength} bytes, ch_size says ${size}`,
    );
  }
  return out;
}

/** NUL-terminated string at `offset`; the terminator must be inside `table`. */
/** Whether the bytes at `offset` begin with `prefix` (a name that is too short, or out of range, does not). */
function startsWithAt(table: Uint8Array, offset: number, prefix: Uint8Array): boolean {
  if (offset < 0 || offset + prefix.byteLength > table.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (table[offset + i] !== prefix[i]) return false;
  return true;
}

export function cString(table: Uint8Array, offset: number): string {
  if (offset < 0 || offset >= table.byteLength) {
    if (offset === 0 && table.byteLength === 0) return '';
    throw new ElfError('ELF_MALFORMED', `string offset ${offset} outside table of ${table.byteLength} bytes`);
  }
  const end = table.indexOf(0, offset);
  if (end < 0) throw new ElfError('ELF_MALFORMED', `string at ${offset} is not NUL-terminated`);
  return Buffer.from(table.buffer, table.byteOffset + offset, end - offset).toString('latin1');
}
