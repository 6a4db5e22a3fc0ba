import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import {
  Duplex,
  PassThrough,
  Readable,
  Transform,
  pipeline,
  type TransformCallback,
  type Writable,
} from 'node:stream';
import zlib from 'node:zlib';
import {
  PkgBadMagicError,
  PkgCorruptError,
  PkgError,
  PkgLimitExceededError,
  PkgTruncatedError,
  PkgUnsupportedCompressionError,
} from './errors.ts';
import { decodeLz4Legacy } from './lz4-legacy.ts';

/** Compression formats found in kernel packages and images. `lz4` is the LZ4 legacy format. */
export type Compression = 'none' | 'gzip' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'lz4';

/**
 * Which decoder implementation to use. `system` spawns the Debian tool (`xz`, `zstd`, `bzip2`) as a
 * streaming child process; it is killed when the stream is destroyed.
 * - xz/lzma: `system` is ~2× faster than lzma-native (liblzma 5.2) and decodes multi-block streams
 *   on several cores; `native` is lzma-native. `auto` (default) = system when `xz` is on PATH.
 * - zstd: `native` is zstd-napi (up to 128 MiB windows), `js` is fzstd; `auto` = native when it
 *   loads, else js.
 * - bzip2: `js` is seek-bzip, which needs the whole compressed input in memory (bounded by
 *   `maxBufferedInput`); `auto` = system when `bzip2` is on PATH, else js.
 */
export interface DecoderOptions {
  xz?: 'auto' | 'system' | 'native';
  zstd?: 'auto' | 'native' | 'js' | 'system';
  bzip2?: 'auto' | 'system' | 'js';
  /** `xz -T` for the system decoder; default: the number of cores. */
  xzThreads?: number;
}

const MAGICS: ReadonlyArray<readonly [Exclude<Compression, 'none'>, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  // lzma-alone: properties byte 0x5d (lc=3 lp=0 pb=2) and a dictionary size below 16 MiB... as the
  // kernel's `lzma -9` writes it. Weak on its own: only tried where a format is expected.
  ['lzma', [0x5d, 0x00, 0x00]],
];

/** The magic bytes each compressed format starts with. */
export function compressionMagic(compression: Exclude<Compression, 'none'>): readonly number[] {
  return MAGICS.find(([c]) => c === compression)![1];
}

/** True when `bytes` at `offset` start with the magic of `compression`. */
export function hasMagic(
  bytes: Uint8Array,
  offset: number,
  compression: Exclude<Compression, 'none'>,
): boolean {
  const magic = compressionMagic(compression);
  if (offset < 0 || offset + magic.length > bytes.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[offset + i] !== magic[i]) return false;
  if (compression === 'bzip2') {
    const level = bytes[offset + 3];
    return level !== undefined && level >= 0x31 && level <= 0x39;
  }
  return true;
}

/** Recognises a compressed stream by its first bytes; null when none matches. */
export function detectCompression(bytes: Uint8Array): Exclude<Compression, 'none'> | null {
  for (const [c] of MAGICS) if (hasMagic(bytes, 0, c)) return c;
  return null;
}

const require = createRequire(import.meta.url);
const toolAvailable = new Map<string, boolean>();

function hasTool(tool: string): boolean {
  let ok = toolAvailable.get(tool);
  if (ok === undefined) {
    const r = spawnSync(tool, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    ok = r.error === undefined && r.status === 0;
    toolAvailable.set(tool, ok);
  }
  return ok;
}

interface ZstdNapi {
  DecompressStream: new (params?: { windowLogMax?: number }) => Duplex;
}
let zstdNapi: ZstdNapi | null | undefined;
function loadZstdNapi(): ZstdNapi | null {
  if (zstdNapi === undefined) {
    try {
      zstdNapi = require('zstd-napi') as ZstdNapi;
    } catch {
      zstdNapi = null;
    }
  }
  return zstdNapi;
}

/** 2^27 = 128 MiB: the largest window `zstd --long` writes by default; kernels use far less. */
const ZSTD_WINDOW_LOG_MAX = 27;
/** liblzma memory limit: the kernel's BCJ+LZMA2 payloads need ~33 MiB, data.tar.xz ~9 MiB. */
const LZMA_MEMLIMIT = 512 * 1024 * 1024;
/** Output buffered ahead from a child decoder, so it never waits on a busy event loop. */
const CHILD_READ_AHEAD = 8 * 1024 * 1024;

type Decoder = Duplex;

/** Below this, xz decoding stays in-process: spawning `xz` costs more than it saves. */
export const SMALL_INPUT = 1024 * 1024;

/** Decoder options for an input known to be small: in-process xz unless the caller chose otherwise. */
export function smallInputDecoders(decoders: DecoderOptions | undefined, size: number): DecoderOptions {
  if (size >= SMALL_INPUT || (decoders?.xz ?? 'auto') !== 'auto') return decoders ?? {};
  return { ...decoders, xz: 'native' };
}

export interface DecompressOptions {
  decoders?: DecoderOptions;
  /** Fail with PKG_LIMIT_EXCEEDED once the output passes this many bytes. */
  maxOutputBytes: number;
  /** Which limit `maxOutputBytes` stands for, for the error. */
  limitName: string;
  /** Bound on compressed input held in memory by whole-buffer decoders (seek-bzip). */
  maxBufferedInput: number;
  /** What is being decoded, for error messages. */
  what: string;
  /** Expected output size, when known, to size buffers up front. */
  sizeHint?: number;
  /** Stop after the first compressed stream and ignore what follows (xz, lzma; gzip always does). */
  trailingAllowed?: boolean;
}

/**
 * Decompresses a byte stream as a Readable. The input's first bytes must carry the format's magic
 * (PKG_BAD_MAGIC otherwise); decoder failures surface as PKG_CORRUPT or PKG_TRUNCATED; output beyond
 * `maxOutputBytes` is PKG_LIMIT_EXCEEDED. Destroying the result tears down every stage, child
 * processes included.
 */
export function decompressStream(
  input: Readable,
  compression: Compression,
  options: DecompressOptions,
): Readable {
  const limiter = new OutputLimiter(options.maxOutputBytes, options.limitName, options.what, compression);
  const stages: Array<Readable | Duplex | Writable> = [input];
  if (compression !== 'none') {
    stages.push(new MagicCheck(compression, options.what));
    // zstd-napi and liblzma decode a write to its end before they look at a limit or yield: small writes
    // keep both the event loop's pauses and the work wasted on a bomb short.
    const lzmaNative =
      (compression === 'xz' || compression === 'lzma') && resolveXz(options.decoders) === 'native';
    stages.push(new SmallWrites(lzmaNative ? LZMA_NATIVE_WRITE_BYTES : DECODER_WRITE_BYTES));
    stages.push(createDecoder(compression, options));
  }
  stages.push(limiter);
  // The callback form tears every stage down on error; the limiter carries the (mapped) error out.
  pipeline(stages as [Readable, ...Duplex[]], () => {});
  return limiter;
}

/** Decompresses a whole buffer, bounded by `maxOutputBytes`. */
export async function decompressBuffer(
  bytes: Uint8Array,
  compression: Compression,
  options: DecompressOptions,
): Promise<Uint8Array> {
  if (compression === 'none') {
    if (bytes.length > options.maxOutputBytes)
      throw limitError(options.limitName, options.what, options.maxOutputBytes);
    return bytes;
  }
  if (!hasMagic(bytes, 0, compression)) {
    throw new PkgBadMagicError(`${options.what}: not ${compression} data`);
  }
  try {
    if (compression === 'lz4')
      return decodeLz4Legacy(bytes, options.maxOutputBytes, options.what, options.sizeHint);
    if (compression === 'bzip2' && resolveBzip2(options.decoders) === 'js') {
      return decodeBzip2Buffer(bytes, options.maxOutputBytes, options.what);
    }
  } catch (err) {
    throw retagLimit(err, options.limitName);
  }
  let streamOptions = options;
  if (compression === 'gzip' && options.trailingAllowed) return gunzipFirstMember(bytes, options);
  if (
    (compression === 'xz' || compression === 'lzma') &&
    (options.decoders?.xz ?? 'auto') === 'auto' &&
    bytes.length < SMALL_INPUT &&
    !options.trailingAllowed
  ) {
    // Spawning a process costs more than in-process decoding saves on small inputs.
    streamOptions = { ...options, decoders: { ...options.decoders, xz: 'native' } };
  }
  const out = decompressStream(Readable.from([bytes], { objectMode: false }), compression, streamOptions);
  // With a trustworthy size hint (a bzImage says how large its vmlinux is), the output goes straight
  // into one buffer: no list of chunks held until a final concatenation doubles the peak.
  // A hostile hint gains nothing: it is believed only up to the limit and 32× the compressed size.
  const hint = options.sizeHint ?? 0;
  const plausible = hint > 0 && hint <= options.maxOutputBytes && hint <= bytes.length * 32;
  let whole = plausible ? Buffer.allocUnsafe(hint) : null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of out as AsyncIterable<Uint8Array>) {
    if (whole && total + chunk.length <= whole.length) whole.set(chunk, total);
    else {
      if (whole) {
        chunks.push(whole.subarray(0, total));
        whole = null;
      }
      chunks.push(chunk);
    }
    total += chunk.length;
  }
  if (whole) return whole.subarray(0, total);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

function resolveBzip2(decoders: DecoderOptions | undefined): 'system' | 'js' {
  const choice = decoders?.bzip2 ?? 'auto';
  if (choice === 'auto') return hasTool('bzip2') ? 'system' : 'js';
  return choice;
}

function resolveXz(decoders: DecoderOptions | undefined): 'system' | 'native' {
  const choice = decoders?.xz ?? 'auto';
  if (choice === 'auto') return hasTool('xz') ? 'system' : 'native';
  return choice;
}

function resolveZstd(decoders: DecoderOptions | undefined): 'native' | 'js' | 'system' {
  const choice = decoders?.zstd ?? 'auto';
  if (choice === 'auto') return loadZstdNapi() ? 'native' : 'js';
  return choice;
}

function createDecoder(compression: Exclude<Compression, 'none'>, options: DecompressOptions): Decoder {
  const decoders = options.decoders;
  switch (compression) {
    case 'gzip':
      return destroyAt(zlib.createGunzip({ chunkSize: 256 * 1024 }), options);
    case 'xz':
    case 'lzma': {
      if (resolveXz(decoders) === 'system') {
        const threads = decoders?.xzThreads ?? availableParallelism();
        const format = compression === 'xz' ? 'xz' : 'lzma';
        const args = ['-dc', `--format=${format}`, `-T${threads}`, '-q'];
        if (options.trailingAllowed) args.push('--single-stream');
        return new ChildDecoder('xz', args, options.what);
      }
      const lzma = require('lzma-native') as typeof import('lzma-native');
      const decoder = lzma.createStream(compression === 'xz' ? 'streamDecoder' : 'aloneDecoder', {
        memlimit: LZMA_MEMLIMIT,
        flags: compression === 'xz' && !options.trailingAllowed ? lzma.CONCATENATED : 0,
      });
      return dropOutputPast(decoder as unknown as LzmaStream, options);
    }
    case 'zstd': {
      const which = resolveZstd(decoders);
      if (which === 'system')
        return new ChildDecoder('zstd', ['-dcq', `--long=${ZSTD_WINDOW_LOG_MAX}`], options.what);
      const napi = which === 'native' ? loadZstdNapi() : null;
      const overflow = () => limitError(options.limitName, options.what, options.maxOutputBytes);
      // zstd-napi decodes a whole input chunk in one synchronous loop, pushing as it goes whatever the
      // consumer wants: only a push that throws (its loop catches it and fails the stream) stops a bomb there.
      if (napi)
        return stopPushingAt(
          new napi.DecompressStream({ windowLogMax: ZSTD_WINDOW_LOG_MAX }),
          options.maxOutputBytes,
          overflow,
        );
      if (which === 'native')
        throw new PkgUnsupportedCompressionError('zstd-napi is not loadable here; use decoders.zstd = "js"');
      return new FzstdDecoder(options.maxOutputBytes, overflow);
    }
    case 'bzip2':
      if (resolveBzip2(decoders) === 'system') return new ChildDecoder('bzip2', ['-dcq'], options.what);
      return new BufferedDecoder(
        (bytes, max) => retagLimitSync(() => decodeBzip2Buffer(bytes, max, options.what), options.limitName),
        options.maxBufferedInput,
        options.maxOutputBytes,
        options.what,
      );
    case 'lz4':
      return new BufferedDecoder(
        (bytes, max) => retagLimitSync(() => decodeLz4Legacy(bytes, max, options.what), options.limitName),
        options.maxBufferedInput,
        options.maxOutputBytes,
        options.what,
      );
  }
}

/**
 * Makes `decoder` throw from `push` once its output passes `max`: for decoders that push from a
 * synchronous loop inside `_transform` and turn what it throws into a stream error.
 */
function stopPushingAt<T extends Duplex>(decoder: T, max: number, overflow: () => Error): T {
  let total = 0;
  const push = decoder.push.bind(decoder);
  decoder.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) {
      total += (chunk as Uint8Array).length;
      if (total > max) throw overflow();
    }
    return push(chunk, encoding);
  };
  return decoder;
}

/**
 * Fails `decoder` as soon as its output passes the limit, before the limiter downstream sees it: zlib and
 * liblzma keep decoding a written chunk whatever the consumer wants, so counting only at the end of the
 * pipeline would let their buffers grow past it. A throw here would escape their native callbacks, hence
 * destroy.
 */
function destroyAt<T extends Duplex>(decoder: T, options: DecompressOptions): T {
  let total = 0;
  const push = decoder.push.bind(decoder);
  decoder.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (decoder.destroyed) return false;
    if (chunk !== null && chunk !== undefined) {
      total += (chunk as Uint8Array).length;
      if (total > options.maxOutputBytes) {
        decoder.destroy(limitError(options.limitName, options.what, options.maxOutputBytes));
        return false;
      }
    }
    return push(chunk, encoding);
  };
  return decoder;
}

interface LzmaStream extends Duplex {
  nativeStream: { bufferHandler: (buf: unknown, ...rest: unknown[]) => void };
}

/**
 * lzma-native decodes each written chunk to its end on a thread of its own and queues every output
 * buffer for the event loop: past the limit its buffers are dropped as they come (so they are never
 * held) and the stream fails.
 */
function dropOutputPast(decoder: LzmaStream, options: DecompressOptions): Duplex {
  let total = 0;
  const native = decoder.nativeStream;
  const handler = native.bufferHandler;
  native.bufferHandler = (buf: unknown, ...rest: unknown[]) => {
    if (buf instanceof Uint8Array) {
      total += buf.length;
      if (total > options.maxOutputBytes) {
        if (total - buf.length <= options.maxOutputBytes)
          setImmediate(() =>
            decoder.destroy(limitError(options.limitName, options.what, options.maxOutputBytes)),
          );
        return;
      }
    }
    handler(buf, ...rest);
  };
  return decoder;
}

/** Most a single write hands a decoder that works a chunk to its end: bounds the work wasted past a limit. */
const DECODER_WRITE_BYTES = 64 * 1024;

/**
 * liblzma (through lzma-native) holds a whole write's output before it hands any of it over: at xz's
 * ratio on zeros (~7000×) a 4 KiB write is at most ~28 MiB.
 */
const LZMA_NATIVE_WRITE_BYTES = 4 * 1024;

/** Splits writes into pieces of at most `size` bytes for the decoder after it. */
class SmallWrites extends Transform {
  constructor(private readonly size: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (let off = 0; off < chunk.length; off += this.size) this.push(chunk.subarray(off, off + this.size));
    cb();
  }
}

/**
 * Decoders that keep the event loop free while they work: the system tools as child processes where
 * they are installed (their output waits on our reads, so memory stays bounded and a bomb costs a
 * killed process), in-process ones otherwise. For input from anyone, such as API uploads.
 */
export function isolatedDecoders(): DecoderOptions {
  return {
    xz: hasTool('xz') ? 'system' : 'native',
    zstd: hasTool('zstd') ? 'system' : 'auto',
    bzip2: 'auto',
    xzThreads: 1,
  };
}

/** Whole-buffer decoders know only "maxOutputBytes"; callers name the limit that applies. */
function retagLimit(err: unknown, limitName: string): unknown {
  if (
    err instanceof PkgLimitExceededError &&
    err.limit === 'maxOutputBytes' &&
    limitName !== 'maxOutputBytes'
  ) {
    return new PkgLimitExceededError(limitName, err.message.replace('maxOutputBytes', limitName), {
      cause: err,
    });
  }
  return err;
}

function retagLimitSync<T>(fn: () => T, limitName: string): T {
  try {
    return fn();
  } catch (err) {
    throw retagLimit(err, limitName);
  }
}

function limitError(limitName: string, what: string, max: number): PkgLimitExceededError {
  return new PkgLimitExceededError(
    limitName,
    `${what}: decompressed output exceeds ${limitName} (${max} bytes)`,
  );
}

/** Turns any decoder failure into a typed error. */
export function toDecodeError(err: unknown, compression: Compression, what: string): PkgError {
  if (err instanceof PkgError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // Codes, not texts: zlib's Z_BUF_ERROR and liblzma's LZMA_BUF_ERROR both mean "input ended early".
  if (e?.code === 'Z_BUF_ERROR' || e?.code === 'LZMA_BUF_ERROR' || e?.code === 10) {
    return new PkgTruncatedError(`${what}: ${compression} stream ends early (${message})`, { cause: err });
  }
  if (e?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new PkgTruncatedError(`${what}: stream closed early`, { cause: err });
  }
  return new PkgCorruptError(`${what}: ${compression} data is corrupt (${message})`, { cause: err });
}

/** Last stage of every decompression pipeline: counts output, enforces the cap, types errors. */
class OutputLimiter extends Transform {
  private total = 0;
  constructor(
    private readonly max: number,
    private readonly limitName: string,
    private readonly what: string,
    private readonly compression: Compression,
  ) {
    super({ readableHighWaterMark: 1024 * 1024 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.max) {
      cb(limitError(this.limitName, this.what, this.max));
      return;
    }
    cb(null, chunk);
  }
  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    cb(err ? toDecodeError(err, this.compression, this.what) : null);
  }
}

/** Checks the first bytes of a stream against the expected format's magic. */
class MagicCheck extends Transform {
  private head: Buffer | null = Buffer.alloc(0);
  private readonly need: number;
  constructor(
    private readonly compression: Exclude<Compression, 'none'>,
    private readonly what: string,
  ) {
    super();
    this.need = compressionMagic(compression).length + (compression === 'bzip2' ? 1 : 0);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.head === null) {
      cb(null, chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < this.need) {
      cb();
      return;
    }
    const head = this.head;
    this.head = null;
    if (!hasMagic(head, 0, this.compression)) {
      cb(new PkgBadMagicError(`${this.what}: not ${this.compression} data`));
      return;
    }
    cb(null, head);
  }
  override _flush(cb: TransformCallback): void {
    if (this.head !== null) {
      cb(
        this.head.length === 0
          ? new PkgTruncatedError(`${this.what}: empty ${this.compression} stream`)
          : new PkgTruncatedError(`${this.what}: ${this.compression} stream shorter than its magic`),
      );
      return;
    }
    cb();
  }
}

/**
 * A decoder running as a child process: stdin ← our input, stdout → our output. The stream ends only
 * after the tool exited 0, so a failing decode never looks like a short but complete output.
 */
class ChildDecoder extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private stdoutEnded = false;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private exited = false;
  private pendingWrite: (() => void) | null = null;

  constructor(
    private readonly tool: string,
    args: string[],
    private readonly what: string,
  ) {
    super({ readableHighWaterMark: CHILD_READ_AHEAD, writableHighWaterMark: 1024 * 1024 });
    this.child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (err) => {
      this.exited = true;
      this.destroy(
        new PkgUnsupportedCompressionError(`${what}: cannot run ${tool}: ${err.message}`, { cause: err }),
      );
    });
    // EPIPE after the tool quit on bad input: its exit status tells the story.
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => {
      if (this.stderr.length < 4096) this.stderr += s;
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.child.stdout.pause();
    });
    this.child.stdout.on('end', () => {
      this.stdoutEnded = true;
      this.settle();
    });
    this.child.stdout.on('error', (err) => this.destroy(err));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.exit = { code, signal };
      const pending = this.pendingWrite;
      this.pendingWrite = null;
      pending?.();
      this.settle();
    });
  }

  private settle(): void {
    if (!this.stdoutEnded || this.exit === null || this.destroyed) return;
    if (this.exit.code === 0) {
      this.push(null);
    } else {
      const detail =
        this.stderr.trim().split('\n').slice(-2).join('; ') || `exit ${this.exit.code ?? this.exit.signal}`;
      this.destroy(new PkgCorruptError(`${this.what}: ${this.tool} failed: ${detail}`));
    }
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    if (this.exited) {
      // The tool quit already (bad data); drop input, the exit status decides the outcome.
      cb();
      return;
    }
    if (this.child.stdin.write(chunk)) {
      cb();
      return;
    }
    this.pendingWrite = () => cb();
    this.child.stdin.once('drain', () => {
      const pending = this.pendingWrite;
      this.pendingWrite = null;
      pending?.();
    });
  }

  override _final(cb: (error?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.child.stdin.destroy();
    cb(err);
  }
}

/** fzstd's push API as a Transform: the pure-JS fallback when zstd-napi is unavailable. */
class FzstdDecoder extends Transform {
  private readonly decoder: { push(chunk: Uint8Array, final?: boolean): unknown };
  private pending: Uint8Array[] = [];
  private total = 0;
  constructor(max: number, overflow: () => Error) {
    super();
    const fzstd = require('fzstd') as typeof import('fzstd');
    // fzstd calls back synchronously from push: throwing here stops it mid-input.
    this.decoder = new fzstd.Decompress((data) => {
      this.total += data.length;
      if (this.total > max) throw overflow();
      this.pending.push(data);
    });
  }
  private flushPending(): void {
    for (const chunk of this.pending) this.push(chunk);
    this.pending = [];
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.decoder.push(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.flushPending();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.flushPending();
    cb();
  }
}

/** Runs a whole-buffer decoder over a stream whose compressed size is bounded. */
class BufferedDecoder extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly decode: (bytes: Uint8Array, maxOut: number) => Uint8Array,
    private readonly maxInput: number,
    private readonly maxOutput: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxInput) {
      cb(
        new PkgLimitExceededError(
          'maxBufferedBytes',
          `${this.what}: compressed input for an in-memory decoder exceeds maxBufferedBytes (${this.maxInput})`,
        ),
      );
      return;
    }
    this.chunks.push(chunk);
    cb();
  }
  override _flush(cb: TransformCallback): void {
    let out: Uint8Array;
    try {
      out = this.decode(Buffer.concat(this.chunks, this.size), this.maxOutput);
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.chunks = [];
    for (let off = 0; off < out.length; off += 1024 * 1024) this.push(out.subarray(off, off + 1024 * 1024));
    cb();
  }
}

/**
 * The first gzip member of `bytes`, ignoring whatever follows it (Node's gunzip insists that
 * anything after a member is another member). Header per RFC 1952; CRC32 and ISIZE checked.
 */
function gunzipFirstMember(bytes: Uint8Array, options: DecompressOptions): Uint8Array {
  const what = options.what;
  const FHCRC = 2;
  const FEXTRA = 4;
  const FNAME = 8;
  const FCOMMENT = 16;
  if (bytes.length < 18) throw new PkgTruncatedError(`${what}: gzip member shorter than its header`);
  const flags = bytes[3]!;
  let p = 10;
  if (flags & FEXTRA) p += 2 + (bytes[p]! | (bytes[p + 1]! << 8));
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const end = bytes.indexOf(0, p);
      if (end < 0) throw new PkgTruncatedError(`${what}: gzip header string not terminated`);
      p = end + 1;
    }
  }
  if (flags & FHCRC) p += 2;
  if (p >= bytes.length) throw new PkgTruncatedError(`${what}: gzip header runs past the input`);
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = zlib.inflateRawSync(bytes.subarray(p), {
      info: true,
      maxOutputLength: options.maxOutputBytes,
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw limitError(options.limitName, what, options.maxOutputBytes);
    throw toDecodeError(err, 'gzip', what);
  }
  const end = p + result.engine.bytesWritten;
  if (end + 8 > bytes.length) throw new PkgTruncatedError(`${what}: gzip member lacks its trailer`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + end, 8);
  const out = result.buffer;
  if (view.getUint32(0, true) !== zlib.crc32(out) || view.getUint32(4, true) !== out.length % 2 ** 32) {
    throw new PkgCorruptError(`${what}: gzip member fails its CRC32/ISIZE check`);
  }
  return out;
}

/** seek-bzip over a buffer, with reads past the end and output past the cap turned into typed errors. */
export function decodeBzip2Buffer(bytes: Uint8Array, maxOutputBytes: number, what: string): Uint8Array {
  const Bunzip = require('seek-bzip') as typeof import('seek-bzip').default;
  let pos = 0;
  const input = {
    readByte(): number {
      if (pos >= bytes.length) throw new PkgTruncatedError(`${what}: bzip2 stream ends early`);
      return bytes[pos++]!;
    },
    read(buf: Uint8Array, off: number, len: number): number {
      let n = 0;
      while (n < len && pos < bytes.length) buf[off + n++] = bytes[pos++]!;
      return n === 0 ? -1 : n;
    },
    eof(): boolean {
      return pos >= bytes.length;
    },
    seek(p: number): void {
      pos = p;
    },
  };
  let out = new Uint8Array(Math.min(maxOutputBytes, Math.max(1 << 16, bytes.length * 4)));
  let n = 0;
  const output = {
    writeByte(b: number): void {
      if (n === out.length) {
        if (n >= maxOutputBytes) throw limitError('maxOutputBytes', what, maxOutputBytes);
        const next = new Uint8Array(Math.min(maxOutputBytes, out.length * 2));
        next.set(out);
        out = next;
      }
      out[n++] = b;
    },
  };
  try {
    Bunzip.decode(input, output, true);
  } catch (err) {
    throw toDecodeError(err, 'bzip2', what);
  }
  return out.subarray(0, n);
}

/** A PassThrough that buffers generously: used where a producer must not stall on a busy consumer. */
export function readAhead(bytes: number): PassThrough {
  return new PassThrough({ highWaterMark: bytes });
}
