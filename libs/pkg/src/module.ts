import { decompressBuffer, detectCompression, type Compression, type DecoderOptions } from './compression.ts';
import { PkgBadMagicError, PkgCorruptError } from './errors.ts';
import { resolveLimits, type Limits } from './limits.ts';

export interface DecompressModuleOptions {
  limits?: Partial<Limits>;
  decoders?: DecoderOptions;
}

const SUFFIXES: ReadonlyArray<readonly [string, Compression]> = [
  ['.ko', 'none'],
  ['.ko.xz', 'xz'],
  ['.ko.zst', 'zstd'],
  ['.ko.gz', 'gzip'],
];

/** The module file suffix (`.ko.xz`, `.ko.zst`, `.ko.gz`) for bytes compressed as modules are, else null. */
export function compressedModuleSuffix(bytes: Uint8Array): string | null {
  const compression = detectCompression(bytes);
  return SUFFIXES.find(([suffix, c]) => c === compression && suffix !== '.ko')?.[0] ?? null;
}

/**
 * A kernel module's ELF bytes from its file (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`, chosen by the
 * name's suffix; the content must carry that format's magic). Output is bounded by
 * `limits.maxModuleBytes` and must be an ELF.
 */
export async function decompressModule(
  name: string,
  bytes: Uint8Array,
  options: DecompressModuleOptions = {},
): Promise<Uint8Array> {
  const limits = resolveLimits(options.limits);
  const match = SUFFIXES.find(([suffix]) => name.endsWith(suffix));
  if (!match) throw new PkgBadMagicError(`${name}: not a kernel module name (.ko, .ko.xz, .ko.zst, .ko.gz)`);
  const compression = match[1];
  const out = await decompressBuffer(bytes, compression, {
    // Modules are small: a child process per module would cost more than it saves.
    decoders: { xz: 'native', ...options.decoders },
    maxOutputBytes: limits.maxModuleBytes,
    limitName: 'maxModuleBytes',
    maxBufferedInput: limits.maxModuleBytes,
    what: name,
  });
  if (out.length < 4 || out[0] !== 0x7f || out[1] !== 0x45 || out[2] !== 0x4c || out[3] !== 0x46) {
    const message = `${name}: content is not an ELF`;
    throw compression === 'none' ? new PkgBadMagicError(message) : new PkgCorruptError(message);
  }
  return out;
}
