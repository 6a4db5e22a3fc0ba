import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import { MirrorIndexTooLargeError, MirrorParseError } from './errors.ts';

// lzma-native ships no type declarations; this is the one function used from it.
const lzma = createRequire(import.meta.url)('lzma-native') as { createDecompressor(): Transform };

export type Compression = 'gzip' | 'xz' | 'zstd' | 'none';

/** Decide the compression from the file's magic bytes, not its name: mirrors mislabel, magic does not. */
export function detectCompression(head: Uint8Array): Compression | 'bzip2' {
  const b = (i: number): number | undefined => head[i];
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00)
    return 'xz';
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return 'zstd';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return 'bzip2';
  return 'none';
}

/**
 * Index files are hashed against signed metadata before they are opened, but a signed file can still
 * be a decompression bomb. Generous: Debian's largest Contents and Fedora's filelists.xml stay far below.
 */
export const DEFAULT_MAX_INDEX_BYTES = 4 * 1024 ** 3;

/**
 * Open a (verified) index file as a stream of its decompressed bytes, at most `maxBytes` of them.
 * Decoder failures surface as MirrorParseError on the returned stream, more output than `maxBytes`
 * as MirrorIndexTooLargeError (the decoder is stopped then).
 */
export async function openDecompressed(
  path: string,
  label: string,
  maxBytes = DEFAULT_MAX_INDEX_BYTES,
): Promise<Readable> {
  const head = Buffer.alloc(6);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 6, 0);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  if (kind === 'bzip2') throw new MirrorParseError(`${label}: bzip2 indexes are not supported`);
  const file = createReadStream(path);
  const cap = new OutputCap(maxBytes, label);
  if (kind === 'none') {
    file.on('error', (err) => cap.destroy(err));
    return file.pipe(cap);
  }
  const decoder: Transform =
    kind === 'gzip' ? createGunzip() : kind === 'xz' ? lzma.createDecompressor() : new DecompressStream();
  file.on('error', (err) => decoder.destroy(err));
  decoder.once('error', (err) => {
    file.destroy();
    cap.destroy(
      err instanceof MirrorParseError
        ? err
        : new MirrorParseError(`${label}: cannot decompress (${kind})`, { cause: err }),
    );
  });
  // The cap stopping early must stop the decoder too: no more input is read once it failed.
  cap.once('close', () => {
    decoder.destroy();
    file.destroy();
  });
  return file.pipe(decoder).pipe(cap);
}

/** Passes bytes through until more than `max` went by. */
class OutputCap extends Transform {
  #total = 0;
  constructor(
    private readonly max: number,
    private readonly label: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#total += chunk.length;
    if (this.#total > this.max) {
      cb(new MirrorIndexTooLargeError(this.max, { url: this.label }));
      return;
    }
    cb(null, chunk);
  }
}
