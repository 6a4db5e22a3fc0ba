import { Readable } from 'node:stream';
import { ArReader } from './ar.ts';
import { ByteReader, type ByteSource } from './byte-reader.ts';
import {
  decompressStream,
  smallInputDecoders,
  type Compression,
  type DecoderOptions,
} from './compression.ts';
import { deb822Field, parseDeb822, type Deb822Paragraph } from './deb822.ts';
import { PkgBadMagicError, PkgCorruptError, PkgUnsupportedCompressionError } from './errors.ts';
import { checkLimit, resolveLimits, type Limits } from './limits.ts';
import { CallbackError, type FileDigest, type PickOptions } from './pick.ts';
import { walkTar, type TarSummary } from './tar-walk.ts';

/** What a .deb says about itself before its files: debian-binary and control.tar. */
export interface DebMetadata {
  format: 'deb';
  /** Contents of `debian-binary`, e.g. `2.0`. */
  formatVersion: string;
  /** The `control` file's fields (Package, Version, Architecture, Depends, Provides, Source, ...). */
  control: Deb822Paragraph;
  package: string;
  version: string;
  architecture: string;
  /** Member names of control.tar, normalised (`/control`, `/md5sums`, `/postinst`, ...). */
  controlFiles: string[];
  /** `md5sums`: installed path → md5 hex, when the package ships one. */
  md5sums: Map<string, string>;
  controlCompression: Compression;
  dataCompression: Compression;
}

export interface DebInfo extends DebMetadata {
  /** Entry count and uncompressed size of data.tar. */
  data: TarSummary;
}

export interface ReadOptions extends PickOptions {
  limits?: Partial<Limits>;
  decoders?: DecoderOptions;
}

export interface ReadDebOptions extends ReadOptions {
  /** Called once the control data is known, before the first file is handed to `onFile`. */
  onMetadata?: (meta: DebMetadata) => void | Promise<void>;
}

const CONTROL_SUFFIX: Record<string, Compression> = {
  '': 'none',
  '.gz': 'gzip',
  '.xz': 'xz',
  '.zst': 'zstd',
};
const DATA_SUFFIX: Record<string, Compression> = {
  '': 'none',
  '.gz': 'gzip',
  '.xz': 'xz',
  '.zst': 'zstd',
  '.bz2': 'bzip2',
  '.lzma': 'lzma',
};

/**
 * Reads a .deb as it streams: ar container, `debian-binary`, control.tar (fields, md5sums), then
 * data.tar, handing selected files to `onFile` (kernel images, modules, config, Module.symvers and
 * System.map by default). Resolves only after the whole package was read and checked.
 * The source is consumed and, on failure, destroyed.
 */
export async function readDeb(source: ByteSource, options: ReadDebOptions = {}): Promise<DebInfo> {
  const limits = resolveLimits(options.limits);
  const reader = new ByteReader(source);
  try {
    return await readDebFrom(reader, options, limits);
  } catch (err) {
    if (err instanceof CallbackError) throw err.error;
    throw err;
  } finally {
    await reader.close();
  }
}

async function readDebFrom(reader: ByteReader, options: ReadDebOptions, limits: Limits): Promise<DebInfo> {
  const ar = new ArReader(reader, limits);
  await ar.readMagic();

  const first = await ar.next();
  if (first === null || first.name !== 'debian-binary') {
    throw new PkgBadMagicError(
      `not a .deb: first member is ${first ? JSON.stringify(first.name) : 'missing'}`,
    );
  }
  checkLimit(limits, 'maxMetadataBytes', first.size, 'debian-binary size');
  const formatVersion = new TextDecoder().decode(await ar.readBody()).trim();
  if (!/^2\.[0-9]+$/.test(formatVersion)) {
    throw new PkgBadMagicError(
      `not a .deb: debian-binary says ${JSON.stringify(formatVersion.slice(0, 32))}`,
    );
  }

  let member = await nextRequired(ar);
  const controlCompression = memberCompression(member.name, 'control.tar', CONTROL_SUFFIX);
  checkLimit(limits, 'maxMetadataBytes', member.size, 'control.tar size');
  // control.tar is a few KB: decoded in-process, not by a spawned xz.
  const control = await readControlTar(
    ar,
    controlCompression,
    { ...options, decoders: smallInputDecoders(options.decoders, member.size) },
    limits,
  );

  member = await nextRequired(ar);
  const dataCompression = memberCompression(member.name, 'data.tar', DATA_SUFFIX);

  const meta: DebMetadata = { format: 'deb', formatVersion, ...control, controlCompression, dataCompression };
  if (options.onMetadata) {
    try {
      await options.onMetadata(meta);
    } catch (err) {
      throw new CallbackError(err);
    }
  }

  const data = await walkTar(
    decompressStream(Readable.from(ar.body()), dataCompression, {
      decoders: options.decoders,
      maxOutputBytes: limits.maxTotalBytes,
      limitName: 'maxTotalBytes',
      maxBufferedInput: limits.maxBufferedBytes,
      what: member.name,
    }),
    options,
    limits,
    member.name,
    options.verifyDigests === true ? md5Of(control.md5sums) : undefined,
  );

  // Anything after data.tar must still be well-formed ar members (dpkg ignores their content).
  while ((await ar.next()) !== null) {
    /* skipped */
  }
  return { ...meta, data };
}

/** Members named `_…` are reserved for tools (signatures) and skipped, as dpkg does. */
async function nextRequired(ar: ArReader): Promise<{ name: string; size: number }> {
  for (;;) {
    const m = await ar.next();
    if (m === null) throw new PkgCorruptError('.deb ends before its control.tar or data.tar member');
    if (!m.name.startsWith('_')) return m;
  }
}

function memberCompression(name: string, base: string, table: Record<string, Compression>): Compression {
  if (!name.startsWith(base)) {
    throw new PkgCorruptError(`.deb member ${JSON.stringify(name)} where ${base}.* was expected`);
  }
  const c = table[name.slice(base.length)];
  if (c === undefined)
    throw new PkgUnsupportedCompressionError(`.deb member ${JSON.stringify(name)}: unknown compression`);
  return c;
}

interface ControlData {
  control: Deb822Paragraph;
  package: string;
  version: string;
  architecture: string;
  controlFiles: string[];
  md5sums: Map<string, string>;
}

async function readControlTar(
  ar: ArReader,
  compression: Compression,
  options: ReadOptions,
  limits: Limits,
): Promise<ControlData> {
  const files = new Map<string, Uint8Array>();
  const controlFiles: string[] = [];
  await walkTar(
    decompressStream(Readable.from(ar.body()), compression, {
      decoders: options.decoders,
      maxOutputBytes: limits.maxMetadataBytes,
      limitName: 'maxMetadataBytes',
      maxBufferedInput: limits.maxMetadataBytes,
      what: 'control.tar',
    }),
    {
      select: (path) => path === '/control' || path === '/md5sums',
      onEntry: (e) => {
        if (e.path !== '/') controlFiles.push(e.path);
      },
      onFile: async (f) => {
        files.set(f.path, await f.read());
      },
    },
    limits,
    'control.tar',
  );
  const controlBytes = files.get('/control');
  if (!controlBytes) throw new PkgCorruptError('control.tar has no control file');
  const paragraphs = parseDeb822(new TextDecoder().decode(controlBytes));
  if (paragraphs.length !== 1) {
    throw new PkgCorruptError(`control file has ${paragraphs.length} paragraphs, expected 1`);
  }
  const control = paragraphs[0]!;
  const required = (name: string): string => {
    const v = deb822Field(control, name);
    if (v === undefined || v === '') throw new PkgCorruptError(`control file lacks ${name}`);
    return v;
  };
  const md5Bytes = files.get('/md5sums');
  return {
    control,
    package: required('Package'),
    version: required('Version'),
    architecture: required('Architecture'),
    controlFiles,
    md5sums: md5Bytes ? parseMd5sums(new TextDecoder().decode(md5Bytes)) : new Map(),
  };
}

function parseMd5sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}) [ *](.+)$/.exec(line);
    if (!m) {
      if (line.trim() === '') continue;
      throw new PkgCorruptError(`md5sums: bad line ${JSON.stringify(line.slice(0, 80))}`);
    }
    sums.set(`/${m[2]!.replace(/^\.?\/+/, '')}`, m[1]!);
  }
  return sums;
}

/** With `verifyDigests`, files are checked against md5sums as they are delivered. */
function md5Of(md5sums: Map<string, string>): (path: string) => FileDigest | null {
  return (path) => {
    const hex = md5sums.get(path);
    return hex === undefined ? null : { algorithm: 'md5', hex };
  };
}
