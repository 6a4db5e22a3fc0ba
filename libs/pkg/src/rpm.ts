import { Readable } from 'node:stream';
import { ByteReader, type ByteSource } from './byte-reader.ts';
import { decompressStream, type Compression } from './compression.ts';
import { CPIO_TRAILER, finishCpioEntry, readCpioHeader } from './cpio.ts';
import type { ReadOptions } from './deb.ts';
import { PkgCorruptError, PkgUnsupportedCompressionError } from './errors.ts';
import { checkLimit, resolveLimits, type Limits } from './limits.ts';
import { normalizeEntryPath } from './paths.ts';
import {
  CallbackError,
  callSync,
  defaultSelect,
  deliverFile,
  readerBody,
  type ArchiveEntry,
  type FileDigest,
} from './pick.ts';
import {
  RpmTag,
  readHeader,
  readLead,
  tagNumbers,
  tagString,
  tagStrings,
  type RpmHeader,
  type RpmLead,
} from './rpm-header.ts';

/** A dependency (Requires/Provides): name, rpm sense flags, version (empty when unversioned). */
export interface RpmDependency {
  name: string;
  flags: number;
  version: string;
}

/** A file the rpm header lists (payload entries plus %ghost files that have no content). */
export interface RpmFile {
  path: string;
  size: number;
  mode: number;
  /** FILEFLAGS bits (0x40 = %ghost: listed, not in the payload). */
  flags: number;
  digest: FileDigest | null;
  linkTarget: string | null;
}

export interface RpmMetadata {
  format: 'rpm';
  lead: RpmLead;
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  sourceRpm: string | null;
  requires: RpmDependency[];
  provides: RpmDependency[];
  payloadFormat: string;
  /** PAYLOADCOMPRESSOR as written (`xz`, `zstd`, `gzip`, `bzip2`, `lzma`). */
  payloadCompressor: string;
  payloadCompression: Compression;
  /** The header's file list, in header order. */
  files: RpmFile[];
  /** The main header, tag → value, for tags this type does not name. */
  header: RpmHeader;
}

export interface RpmInfo extends RpmMetadata {
  /** Entries in the cpio payload (trailer excluded) and its uncompressed size. */
  payload: { entries: number; bytes: number };
}

export interface ReadRpmOptions extends ReadOptions {
  onMetadata?: (meta: RpmMetadata) => void | Promise<void>;
}

const COMPRESSORS: Record<string, Compression> = {
  gzip: 'gzip',
  bzip2: 'bzip2',
  xz: 'xz',
  lzma: 'lzma',
  zstd: 'zstd',
};

const DIGEST_ALGOS: Record<number, FileDigest['algorithm']> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  10: 'sha512',
};
const GHOST = 0x40;
const S_IFMT = 0o170000;

/**
 * Reads an .rpm as it streams: lead, signature header, main header (name, EVR, arch, deps, file
 * list and digests, payload format), then the compressed cpio payload, handing selected files to
 * `onFile`. Resolves only after the payload's trailer and the end of its compressed stream.
 */
export async function readRpm(source: ByteSource, options: ReadRpmOptions = {}): Promise<RpmInfo> {
  const limits = resolveLimits(options.limits);
  const reader = new ByteReader(source);
  let payloadReader: ByteReader | null = null;
  try {
    const lead = await readLead(reader);
    await readHeader(reader, limits, 'rpm signature header', true);
    const header = await readHeader(reader, limits, 'rpm header', false);
    const meta = toMetadata(lead, header, limits);
    if (options.onMetadata) {
      try {
        await options.onMetadata(meta);
      } catch (err) {
        throw new CallbackError(err);
      }
    }
    const decompressed = decompressStream(Readable.from(reader.rest()), meta.payloadCompression, {
      decoders: options.decoders,
      maxOutputBytes: limits.maxTotalBytes,
      limitName: 'maxTotalBytes',
      maxBufferedInput: limits.maxBufferedBytes,
      what: 'rpm payload',
    });
    payloadReader = new ByteReader(decompressed);
    const payload = await walkCpio(payloadReader, meta, options, limits);
    return { ...meta, payload };
  } catch (err) {
    if (err instanceof CallbackError) throw err.error;
    throw err;
  } finally {
    await payloadReader?.close();
    await reader.close();
  }
}

function toMetadata(lead: RpmLead, h: RpmHeader, limits: Limits): RpmMetadata {
  const required = (tag: number, name: string): string => {
    const v = tagString(h, tag);
    if (v === null) throw new PkgCorruptError(`rpm header lacks ${name}`);
    return v;
  };
  const payloadFormat = tagString(h, RpmTag.PAYLOADFORMAT) ?? 'cpio';
  if (payloadFormat !== 'cpio') throw new PkgCorruptError(`rpm payload format ${payloadFormat} is not cpio`);
  // rpm before 4.? wrote no PAYLOADCOMPRESSOR: gzip was the only choice then.
  const payloadCompressor = tagString(h, RpmTag.PAYLOADCOMPRESSOR) ?? 'gzip';
  const payloadCompression = COMPRESSORS[payloadCompressor];
  if (payloadCompression === undefined) {
    throw new PkgUnsupportedCompressionError(`rpm payload compressor ${JSON.stringify(payloadCompressor)}`);
  }
  const epoch = tagNumbers(h, RpmTag.EPOCH)[0];
  return {
    format: 'rpm',
    lead,
    name: required(RpmTag.NAME, 'NAME'),
    epoch: epoch ?? null,
    version: required(RpmTag.VERSION, 'VERSION'),
    release: required(RpmTag.RELEASE, 'RELEASE'),
    arch: required(RpmTag.ARCH, 'ARCH'),
    sourceRpm: tagString(h, RpmTag.SOURCERPM),
    requires: deps(h, RpmTag.REQUIRENAME, RpmTag.REQUIREFLAGS, RpmTag.REQUIREVERSION),
    provides: deps(h, RpmTag.PROVIDENAME, RpmTag.PROVIDEFLAGS, RpmTag.PROVIDEVERSION),
    payloadFormat,
    payloadCompressor,
    payloadCompression,
    files: fileList(h, limits),
    header: h,
  };
}

function deps(h: RpmHeader, nameTag: number, flagsTag: number, versionTag: number): RpmDependency[] {
  const names = tagStrings(h, nameTag);
  const flags = tagNumbers(h, flagsTag);
  const versions = tagStrings(h, versionTag);
  return names.map((name, i) => ({ name, flags: flags[i] ?? 0, version: versions[i] ?? '' }));
}

function fileList(h: RpmHeader, limits: Limits): RpmFile[] {
  let paths: string[];
  const basenames = tagStrings(h, RpmTag.BASENAMES);
  if (basenames.length > 0) {
    const dirnames = tagStrings(h, RpmTag.DIRNAMES);
    const dirindexes = tagNumbers(h, RpmTag.DIRINDEXES);
    if (dirindexes.length !== basenames.length)
      throw new PkgCorruptError('rpm header: DIRINDEXES and BASENAMES differ in length');
    paths = basenames.map((base, i) => {
      const dir = dirnames[dirindexes[i]!];
      if (dir === undefined)
        throw new PkgCorruptError(`rpm header: file ${i} has dir index ${dirindexes[i]} out of range`);
      return dir + base;
    });
  } else {
    paths = tagStrings(h, RpmTag.OLDFILENAMES);
  }
  const n = paths.length;
  const long = tagNumbers(h, RpmTag.LONGFILESIZES);
  const sizes = long.length > 0 ? long : tagNumbers(h, RpmTag.FILESIZES);
  const modes = tagNumbers(h, RpmTag.FILEMODES);
  const flags = tagNumbers(h, RpmTag.FILEFLAGS);
  const digests = tagStrings(h, RpmTag.FILEDIGESTS);
  const links = tagStrings(h, RpmTag.FILELINKTOS);
  // Absent FILEDIGESTALGO means MD5, rpm's original file digest.
  const algorithm = DIGEST_ALGOS[tagNumbers(h, RpmTag.FILEDIGESTALGO)[0] ?? 1] ?? null;
  for (const [name, list] of [
    ['sizes', sizes],
    ['modes', modes],
  ] as const) {
    if (list.length !== n)
      throw new PkgCorruptError(`rpm header: ${n} files but ${list.length} file ${name}`);
  }
  return paths.map((path, i) => {
    const size = sizes[i]!;
    checkLimit(limits, 'maxEntryBytes', size, `rpm header: ${path} size`);
    const hex = digests[i] ?? '';
    return {
      path: normalizeEntryPath(path, limits),
      size,
      mode: modes[i]! & 0xffff,
      flags: flags[i] ?? 0,
      digest: hex !== '' && algorithm !== null ? { algorithm, hex } : null,
      linkTarget: links[i] ? links[i]! : null,
    };
  });
}

function entryType(mode: number): ArchiveEntry['type'] {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

async function walkCpio(
  reader: ByteReader,
  meta: RpmMetadata,
  options: ReadRpmOptions,
  limits: Limits,
): Promise<{ entries: number; bytes: number }> {
  const byPath = new Map(meta.files.map((f) => [f.path, f]));
  const select = options.select ?? defaultSelect;
  const fromIndex = (i: number): { name: string; mode: number; size: number } | null => {
    const f = meta.files[i];
    return f ? { name: f.path, mode: f.mode, size: f.size } : null;
  };
  let entries = 0;
  for (;;) {
    const h = await readCpioHeader(reader, limits, fromIndex);
    if (h.fileIndex < 0 && h.name === CPIO_TRAILER) break;
    entries++;
    checkLimit(limits, 'maxEntries', entries, 'rpm payload entry count');
    const path = normalizeEntryPath(h.name, limits);
    const type = entryType(h.mode);
    const declared = byPath.get(path);
    if (declared && (declared.flags & GHOST) !== 0)
      throw new PkgCorruptError(`rpm payload carries %ghost file ${path}`);
    let linkTarget: string | null = null;
    if (type === 'symlink') {
      checkLimit(limits, 'maxPathLength', h.size, `${path} link target`);
      linkTarget = new TextDecoder().decode(await reader.read(h.size, `${path} link target`));
      await finishCpioEntry(reader, h.size);
    }
    const entry: ArchiveEntry = {
      path,
      type,
      size: type === 'file' ? h.size : 0,
      mode: h.mode & 0o7777,
      linkTarget: linkTarget ?? declared?.linkTarget ?? null,
    };
    callSync(options.onEntry, entry);
    if (type === 'symlink') continue;
    const body = readerBody(reader, h.size, `${path} content`);
    // Hardlinked files: rpm stores the content once, with the last link; the others are empty.
    const wanted = type === 'file' && h.size > 0 && selectSafe(select, path);
    if (wanted) await deliverFile(body, entry, options, limits, declared?.digest ?? null);
    else await body.skip();
    await finishCpioEntry(reader, h.size);
  }
  // Read the compressed stream to its end, so its own integrity checks run.
  for await (const _ of reader.rest()) {
    /* padding */
  }
  return { entries, bytes: reader.offset };
}

function selectSafe(select: (path: string) => boolean, path: string): boolean {
  try {
    return select(path);
  } catch (err) {
    throw new CallbackError(err);
  }
}
