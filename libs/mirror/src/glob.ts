import { MirrorConfigError } from './errors.ts';

/**
 * Package-name patterns as apt and shells write them (fnmatch(3) without flags): `*` any run, `?` one
 * character, `[...]` one of a set (ranges `a-z`, classes `[:digit:]`), `[!...]` or `[^...]` none of it,
 * `\` makes the next character literal. Everything else matches itself.
 *
 * Patterns are checked up front, not silently taken as literals: a pattern holding what no package name
 * can (a comma, white space) or an unclosed `[` can never match, and would make a scan "complete" with
 * nothing found.
 */
export interface PackageMatcher {
  /** The patterns as given; empty: every name matches. */
  readonly patterns: readonly string[];
  matches(name: string): boolean;
  /** Patterns no name given to `matches` has matched so far. */
  unmatched(): string[];
}

const MAX_PATTERNS = 100;
const MAX_PATTERN_LENGTH = 256;

const CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  xdigit: '0-9a-fA-F',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
};

/** The list a config holds: one pattern, several, or none. */
export function patternList(patterns: string | readonly string[] | undefined): string[] {
  if (patterns === undefined) return [];
  return typeof patterns === 'string' ? [patterns] : [...patterns];
}

/** Throws MirrorConfigError naming the first pattern that cannot work, and why. */
export function checkPatterns(patterns: string | readonly string[] | undefined): void {
  const list = patternList(patterns);
  if (list.length > MAX_PATTERNS) throw new MirrorConfigError(`more than ${MAX_PATTERNS} match patterns`);
  for (const p of list) globToRegExp(p);
}

export function createMatcher(patterns: string | readonly string[] | undefined): PackageMatcher {
  const list = patternList(patterns);
  checkPatterns(list);
  const compiled = list.map((p) => ({ pattern: p, regexp: globToRegExp(p), hits: 0 }));
  return {
    patterns: list,
    matches(name) {
      if (compiled.length === 0) return true;
      let any = false;
      // Every pattern is tried (not only up to the first hit), so unmatched() is exact per pattern.
      for (const c of compiled) {
        if (c.regexp.test(name)) {
          c.hits++;
          any = true;
        }
      }
      return any;
    },
    unmatched: () => compiled.filter((c) => c.hits === 0).map((c) => c.pattern),
  };
}

/** One test for a list of patterns; an empty or missing list matches every name. */
export function compileMatch(patterns: string | readonly string[] | undefined): (name: string) => boolean {
  const m = createMatcher(patterns);
  return (name) => m.matches(name);
}

export function globToRegExp(glob: string): RegExp {
  const bad = (why: string) => new MirrorConfigError(`bad package pattern ${JSON.stringify(glob)}: ${why}`);
  if (glob.length === 0) throw bad('empty');
  if (glob.length > MAX_PATTERN_LENGTH) throw bad(`longer than ${MAX_PATTERN_LENGTH} characters`);
  const impossible = /[,\s\p{Cc}]/u.exec(glob);
  if (impossible) {
    throw bad(
      impossible[0] === ','
        ? 'a comma cannot occur in a package name (give several patterns as a list)'
        : 'white space or control characters cannot occur in a package name',
    );
  }
  let src = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else if (ch === '\\') {
      const next = glob[++i];
      if (next === undefined) throw bad('ends with a lone backslash');
      src += escapeRegExp(next);
    } else if (ch === '[') {
      const set = readBracket(glob, i, bad);
      src += set.source;
      i = set.end;
    } else src += escapeRegExp(ch);
  }
  return new RegExp(`^${src}$`);
}

/** A bracket expression starting at `start` (the `[`): its RegExp class and the index of its `]`. */
function readBracket(
  glob: string,
  start: number,
  bad: (why: string) => MirrorConfigError,
): { source: string; end: number } {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < glob.length; i++) {
    const ch = glob[i]!;
    // `]` right after `[` or `[!` is a member, as in fnmatch.
    if (ch === ']' && !first) {
      if (body === '') throw bad('empty bracket expression');
      return { source: `[${negate ? '^' : ''}${body}]`, end: i };
    }
    first = false;
    if (ch === '[' && glob[i + 1] === ':') {
      const close = glob.indexOf(':]', i + 2);
      const name = close < 0 ? undefined : glob.slice(i + 2, close);
      const cls = name === undefined ? undefined : CLASSES[name];
      if (cls === undefined)
        throw bad(`unknown character class ${glob.slice(i, close < 0 ? i + 2 : close + 2)}`);
      body += cls;
      i = close + 1;
      continue;
    }
    if (ch === '\\') {
      const next = glob[++i];
      if (next === undefined) throw bad('ends with a lone backslash');
      body += escapeClassChar(next);
      continue;
    }
    const to = glob[i + 2];
    if (glob[i + 1] === '-' && to !== undefined && to !== ']') {
      if (to < ch) throw bad(`range ${ch}-${to} is reversed`);
      body += `${escapeClassChar(ch)}-${escapeClassChar(to)}`;
      i += 2;
      continue;
    }
    body += escapeClassChar(ch);
  }
  throw bad('unclosed [');
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function escapeClassChar(ch: string): string {
  return ch.replace(/[\\\]^[-]/g, '\\$&');
}
