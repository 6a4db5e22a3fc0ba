import { PkgUnsafePathError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';

/**
 * Turns an archive member name (`./boot/x`, `boot/x`, `/boot/x`, `./lib/`) into the absolute path
 * it installs to (`/boot/x`, `/lib`). Names with `..` components or NUL bytes are refused: nothing
 * is written to disk, but a name that climbs out of its directory could pass for a path it is not.
 */
export function normalizeEntryPath(name: string, limits: Limits): string {
  checkLimit(limits, 'maxPathLength', name.length, 'entry path length');
  const path = tryNormalizePath(name);
  if (path === null) throw new PkgUnsafePathError(`unsafe entry path ${JSON.stringify(name)}`);
  return path;
}

/** As `normalizeEntryPath`, but null instead of an error. */
export function tryNormalizePath(name: string): string | null {
  if (name.includes('\0')) return null;
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return null;
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}
