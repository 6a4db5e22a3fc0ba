import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';
import { MirrorParseError } from './errors.ts';

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
 * Open a (verified) index file as a stream of its decompressed bytes. Decoder failures surface as
 * MirrorParseError on the returned stream.
 */
export async function openDecompressed(path: string, label: string): Promise<Readable> {
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
  if (kind === 'none') return file;
  const decoder: Transform =
    kind === 'gzip' ? createGunzip() : kind === 'xz' ? lzma.createDecompressor() : new DecompressStream();
  const wrapParseError = (cause: unknown): void => {
    decoder.destroy(new MirrorParseError(`${label}: cannot decompress (${kind})`, { cause }));
  };
  file.on('error', (err) => decoder.destroy(err));
  decoder.once('error', (err) => {
    file.destroy();
    if (!(err instanceof MirrorParseError)) wrapParseError(err);
  });
  return file.pipe(decoder);
}
