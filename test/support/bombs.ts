import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The compressed formats a bomb is made in, with the system tool command that makes it from zeros. */
export const BOMB_FORMATS = {
  zstd: 'zstd -q -19 -c',
  xz: 'xz -q -0 -c',
  gzip: 'gzip -1 -c',
  bzip2: 'bzip2 -1 -c',
  // The LZ4 legacy frame, as Debian's cloud vmlinuz uses it.
  lz4: 'lz4 -q -l -c',
} as const;
export type BombFormat = keyof typeof BOMB_FORMATS;

const MiB = 1024 * 1024;

/**
 * `mib` MiB of zeros compressed with the system tool: a decompression bomb (a 2 GiB zstd one is 64 KB).
 * Made once per size and format under the test cache (BTFWATCH_CACHE), since gzip and bzip2 take seconds.
 */
export function bomb(format: BombFormat, mib: number): Buffer {
  const dir = join(process.env.BTFWATCH_CACHE ?? join(homedir(), '.cache', 'btfwatch'), 'bombs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `zeros-${mib}MiB.${format}`);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    execFileSync('sh', ['-c', `head -c ${mib * MiB} /dev/zero | ${BOMB_FORMATS[format]} > '${tmp}'`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    renameSync(tmp, path);
  }
  return readFileSync(path);
}

/** A module file name whose suffix says `format`, for formats modules come in. */
export const MODULE_SUFFIX: Partial<Record<BombFormat, string>> = {
  zstd: '.ko.zst',
  xz: '.ko.xz',
  gzip: '.ko.gz',
};
