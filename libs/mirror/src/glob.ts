import { MirrorConfigError } from './errors.ts';

/**
 * Compile package-name globs (`*` any run, `?` one character, everything else literal) into one test.
 * An empty or missing list matches every name.
 */
export function compileMatch(patterns: string | readonly string[] | undefined): (name: string) => boolean {
  const list = patterns === undefined ? [] : typeof patterns === 'string' ? [patterns] : [...patterns];
  if (list.length === 0) return () => true;
  const regexps = list.map(globToRegExp);
  return (name) => regexps.some((r) => r.test(name));
}

export function globToRegExp(glob: string): RegExp {
  if (glob.length === 0 || glob.length > 256) throw new MirrorConfigError(`bad package glob: "${glob}"`);
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}
