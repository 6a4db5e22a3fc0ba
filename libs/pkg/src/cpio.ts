import type { ByteReader } from './byte-reader.ts';
import { PkgBadMagicError, PkgCorruptError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';

/** One cpio member header. */
export interface CpioHeader {
  /** Name as stored (`./usr/lib/...`); for rpm's stripped format, the path from the rpm header. */
  name: string;
  mode: number;
  size: number;
  /** rpm stripped format (`07070X`): index into the header's file list; -1 otherwise. */
  fileIndex: number;
}

const NEWC_HEADER = 110;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

export const CPIO_TRAILER = 'TRAILER!!!';

function hexField(s: string, at: number, what: string): number {
  const f = s.slice(at, at + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(f)) throw new PkgCorruptError(`${what}: bad hex field ${JSON.stringify(f)}`);
  return parseInt(f, 16);
}

async function skipPad(reader: ByteReader, n: number, what: string): Promise<void> {
  await reader.skip((4 - (n % 4)) % 4, what);
}

/**
 * Reads the next cpio header: `070701`/`070702` newc, or rpm's stripped `07070X` (rpm ≥ 4.12 for
 * packages with files over 4 GiB), whose size comes from the rpm header via `sizeOf`.
 * The caller then reads exactly `size` bytes and calls `finishEntry`.
 */
export async function readCpioHeader(
  reader: ByteReader,
  limits: Limits,
  sizeOf: (index: number) => { name: string; mode: number; size: number } | null,
): Promise<CpioHeader> {
  const at = reader.offset;
  const what = `cpio header at ${at}`;
  const magic = latin1.decode(await reader.read(6, what));
  if (magic === '07070X') {
    const index = hexField(latin1.decode(await reader.read(8, what)), 0, what);
    await skipPad(reader, 14, what);
    const file = sizeOf(index);
    if (file === null) throw new PkgCorruptError(`${what}: stripped entry for unknown file index ${index}`);
    checkLimit(limits, 'maxEntryBytes', file.size, `${what} size`);
    return { name: file.name, mode: file.mode, size: file.size, fileIndex: index };
  }
  if (magic !== '070701' && magic !== '070702') {
    throw new PkgBadMagicError(`${what}: bad magic ${JSON.stringify(magic)} (only newc cpio is supported)`);
  }
  const rest = latin1.decode(await reader.read(NEWC_HEADER - 6, what));
  const field = (i: number): number => hexField(rest, i * 8, what);
  const mode = field(1);
  const size = field(6);
  const nameSize = field(11);
  checkLimit(limits, 'maxEntryBytes', size, `${what} size`);
  if (nameSize === 0) throw new PkgCorruptError(`${what}: empty name`);
  checkLimit(limits, 'maxPathLength', nameSize - 1, `${what} name length`);
  const nameBytes = await reader.read(nameSize, `${what} name`);
  if (nameBytes[nameSize - 1] !== 0) throw new PkgCorruptError(`${what}: name not NUL-terminated`);
  await skipPad(reader, NEWC_HEADER + nameSize, what);
  return { name: utf8.decode(nameBytes.subarray(0, nameSize - 1)), mode, size, fileIndex: -1 };
}

/** Skips the padding after an entry's data. */
export async function finishCpioEntry(reader: ByteReader, size: number): Promise<void> {
  await skipPad(reader, size, 'cpio data padding');
}
