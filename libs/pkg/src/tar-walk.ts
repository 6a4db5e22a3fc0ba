import { ByteReader, type ByteSource } from './byte-reader.ts';
import { PkgCorruptError, PkgTruncatedError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';
import { normalizeEntryPath } from './paths.ts';
import {
  CallbackError,
  callSync,
  defaultSelect,
  deliverFile,
  readerBody,
  type ArchiveEntry,
  type FileDigest,
  type PickOptions,
} from './pick.ts';

export interface TarSummary {
  /** Entries in the archive (pax/GNU extension headers not counted). */
  entries: number;
  /** Size of the uncompressed tar stream. */
  bytes: number;
}

const BLOCK = 512;
const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** Extension headers that describe the next entry (GNU long names, pax records). */
interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, string>;
}

/**
 * Walks an uncompressed tar stream (ustar, GNU and pax formats, as dpkg-deb and GNU tar write them):
 * reports every entry to `onEntry`, hands the selected regular files to `onFile` one at a time, and
 * checks the archive's end: a tar that stops without its two zero blocks was cut, even if it stops
 * between entries. Bodies are read straight from the stream's buffers (a read within one chunk is a
 * view, not a copy). Every header is checksummed; the source is closed (destroyed) when the walk ends.
 */
export async function walkTar(
  input: ByteSource,
  options: PickOptions,
  limits: Limits,
  what: string,
  digestOf?: (path: string) => FileDigest | null,
): Promise<TarSummary> {
  const reader = new ByteReader(input);
  const select = options.select ?? defaultSelect;
  let entries = 0;
  let zeroBlocks = 0;
  let pending: Pending = {};
  try {
    for (;;) {
      if (await reader.atEnd()) {
        if (zeroBlocks < 2 || Object.keys(pending).length > 0)
          throw new PkgTruncatedError(
            `${what}: tar archive has no end-of-archive marker (cut after ${reader.offset} bytes)`,
          );
        return { entries, bytes: reader.offset };
      }
      const at = reader.offset;
      const block = await reader.read(BLOCK, `${what}: tar header at ${at}`);
      if (isZero(block)) {
        zeroBlocks++;
        continue;
      }
      if (zeroBlocks >= 2)
        throw new PkgCorruptError(`${what}: data after the end-of-archive marker at ${at}`);
      zeroBlocks = 0;
      const h = parseHeader(block, `${what}: tar header at ${at}`);
      checkLimit(limits, 'maxEntryBytes', h.size, `${what}: ${h.name} size`);
      const body = readerBody(reader, h.size, `${what}: ${h.name} content`);
      switch (h.typeflag) {
        case 'L':
        case 'K': {
          checkLimit(limits, 'maxPathLength', h.size - 1, `${what}: GNU long name at ${at}`);
          const name = cString(await body.readRest(), utf8);
          if (h.typeflag === 'L') pending.longName = name;
          else pending.longLink = name;
          await skipPadding(reader, h.size, what);
          continue;
        }
        case 'x':
        case 'g': {
          checkLimit(limits, 'maxMetadataBytes', h.size, `${what}: pax header at ${at}`);
          const records = parsePax(await body.readRest(), `${what}: pax header at ${at}`);
          // Global records (`g`) apply to the whole archive; dpkg never writes them and no field we
          // read depends on them.
          if (h.typeflag === 'x') pending.pax = records;
          await skipPadding(reader, h.size, what);
          continue;
        }
      }
      const name = pending.pax?.get('path') ?? pending.longName ?? h.name;
      const linkTarget = pending.pax?.get('linkpath') ?? pending.longLink ?? h.linkname;
      let size = h.size;
      const paxSize = pending.pax?.get('size');
      if (paxSize !== undefined) {
        if (!/^\d{1,16}$/.test(paxSize))
          throw new PkgCorruptError(`${what}: pax size ${JSON.stringify(paxSize)} at ${at}`);
        size = Number(paxSize);
        checkLimit(limits, 'maxEntryBytes', size, `${what}: ${name} size`);
      }
      pending = {};
      entries++;
      checkLimit(limits, 'maxEntries', entries, `${what}: entry count`);
      const type = entryType(h.typeflag);
      const entry: ArchiveEntry = {
        path: normalizeEntryPath(name, limits),
        type,
        size: type === 'file' ? size : 0,
        mode: h.mode & 0o7777,
        linkTarget: linkTarget === '' ? null : linkTarget,
      };
      callSync(options.onEntry, entry);
      const content = size === h.size ? body : readerBody(reader, size, `${what}: ${name} content`);
      if (type === 'file' && selectSafe(select, entry.path)) {
        await deliverFile(content, entry, options, limits, digestOf?.(entry.path) ?? null);
      } else {
        await content.skip();
      }
      await skipPadding(reader, size, what);
    }
  } finally {
    await reader.close();
  }
}

interface RawHeader {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
}

/** One 512-byte header: checksum, format magic, fields (POSIX.1-1988 ustar; GNU's variant). */
function parseHeader(h: Uint8Array, what: string): RawHeader {
  const stored = octal(h, 148, 8, what, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw new PkgCorruptError(`${what}: header checksum ${stored}, computed ${sum}`);
  const magic = latin1.decode(h.subarray(257, 265));
  const ustar = magic === 'ustar\u000000';
  if (!ustar && magic !== 'ustar  \u0000')
    throw new PkgCorruptError(`${what}: not a ustar or GNU tar header (magic ${JSON.stringify(magic)})`);
  let name = cString(h.subarray(0, 100), utf8);
  // The prefix field exists in ustar only; GNU keeps access and change times there.
  if (ustar && h[345] !== 0) name = `${cString(h.subarray(345, 500), utf8)}/${name}`;
  const flag = h[156]!;
  return {
    name,
    mode: octal(h, 100, 8, what, 'mode'),
    size: size(h, what),
    typeflag: flag === 0 ? '0' : String.fromCharCode(flag),
    linkname: cString(h.subarray(157, 257), utf8),
  };
}

/** The size field: octal, or GNU base-256 (high bit set, big-endian) for sizes of 8 GiB and more. */
function size(h: Uint8Array, what: string): number {
  if ((h[124]! & 0x80) === 0) return octal(h, 124, 12, what, 'size');
  if (h[124] === 0xff) throw new PkgCorruptError(`${what}: negative base-256 size`);
  let v = BigInt(h[124]! & 0x7f);
  for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
  // Past 2^53 the exact value does not matter: every limit rejects it.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function octal(h: Uint8Array, at: number, len: number, what: string, field: string): number {
  let i = at;
  const end = at + len;
  while (i < end && h[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37)
      throw new PkgCorruptError(
        `${what}: ${field} field is not octal (${JSON.stringify(latin1.decode(h.subarray(at, end)))})`,
      );
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    if (h[i] !== 0 && h[i] !== 0x20)
      throw new PkgCorruptError(`${what}: ${field} field has trailing garbage`);
  }
  return digits === 0 ? 0 : v;
}

/** pax extended header records: `<length> <key>=<value>\n`, length counting the whole record. */
function parsePax(bytes: Uint8Array, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < bytes.length) {
    if (bytes[p] === 0) break;
    const space = bytes.indexOf(0x20, p);
    const lenText = space < 0 ? '' : latin1.decode(bytes.subarray(p, space));
    if (!/^\d{1,9}$/.test(lenText)) throw new PkgCorruptError(`${what}: bad record length`);
    const len = Number(lenText);
    if (len <= space - p + 2 || p + len > bytes.length || bytes[p + len - 1] !== 0x0a)
      throw new PkgCorruptError(`${what}: record of length ${len} does not fit`);
    const record = utf8.decode(bytes.subarray(space + 1, p + len - 1));
    const eq = record.indexOf('=');
    if (eq <= 0) throw new PkgCorruptError(`${what}: record without a key`);
    out.set(record.slice(0, eq), record.slice(eq + 1));
    p += len;
  }
  return out;
}

function entryType(flag: string): ArchiveEntry['type'] {
  switch (flag) {
    case '0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

function cString(bytes: Uint8Array, decoder: { decode(b: Uint8Array): string }): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

async function skipPadding(reader: ByteReader, size: number, what: string): Promise<void> {
  await reader.skip((BLOCK - (size % BLOCK)) % BLOCK, `${what}: padding`);
}

function selectSafe(select: (path: string) => boolean, path: string): boolean {
  try {
    return select(path);
  } catch (err) {
    throw new CallbackError(err);
  }
}
