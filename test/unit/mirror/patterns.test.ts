// Package-name patterns against bash's own pattern matching (`[[ name == pattern ]]`, fnmatch rules with
// backslash escapes), the way apt users and shells write them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { MirrorConfigError, checkPatterns, createMatcher } from '@btfwatch/mirror';

const NAMES = [
  'linux-image-6.1.0-55-amd64',
  'linux-image-6.1.0-56-amd64',
  'linux-image-6.1.0-57-amd64',
  'linux-image-6.1.0-5-amd64',
  'linux-image-6.1.0-56-cloud-amd64',
  'linux-image-6.1.0-56-amd64-dbg',
  'linux-headers-6.1.0-56-amd64',
  'linux-image-amd64',
  'linux-binary-7.2.12+deb13-amd64',
  'linux-modules-7.2.12+deb13-amd64',
  'kmod-a',
  'kmod-ab',
  'kernel-core',
  'a]b',
  'x*y',
];

const PATTERNS = [
  'linux-image-6.1.0-5[56]-amd64',
  'linux-image-6.1.0-5?-amd64',
  'linux-image-6.1.0-5[!6]-amd64',
  'linux-image-6.1.0-5[^6]-amd64',
  'linux-image-6.1.0-5[4-6]-*',
  'linux-*-7.2.12+deb13-amd64',
  'linux-image-*',
  'kmod-?',
  'kmod-[[:alpha:]]',
  'kmod-[[:alpha:]][[:lower:]]',
  'linux-image-6.1.0-[[:digit:]]-amd64',
  'a[]]b',
  'x\\*y',
  'x[*]y',
  'kernel-core',
  'linux-image-6.1.0-5[5-6]-amd64',
];

function bashMatches(pattern: string): string[] {
  const script = 'p=$1; shift; for n in "$@"; do [[ $n == $p ]] && printf "%s\\n" "$n"; done; true';
  const out = execFileSync('bash', ['-c', script, 'bash', pattern, ...NAMES], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('match patterns (fnmatch)', () => {
  for (const pattern of PATTERNS) {
    test(`${pattern} selects what bash selects`, () => {
      const m = createMatcher(pattern);
      assert.deepEqual(
        NAMES.filter((n) => m.matches(n)),
        bashMatches(pattern),
      );
    });
  }

  test('the issue: 5[56] is exactly two kernels, 5? pulls in more', () => {
    const two = createMatcher('linux-image-6.1.0-5[56]-amd64');
    assert.deepEqual(
      NAMES.filter((n) => two.matches(n)),
      ['linux-image-6.1.0-55-amd64', 'linux-image-6.1.0-56-amd64'],
    );
    const any = createMatcher('linux-image-6.1.0-5?-amd64');
    assert.equal(NAMES.filter((n) => any.matches(n)).length, 3);
  });

  test('a list matches what any of its patterns matches, and says which matched nothing', () => {
    const m = createMatcher(['kmod-?', 'linux-binary-*', 'zfs-*']);
    assert.deepEqual(
      NAMES.filter((n) => m.matches(n)),
      ['linux-binary-7.2.12+deb13-amd64', 'kmod-a'],
    );
    assert.deepEqual(m.unmatched(), ['zfs-*']);
    assert.deepEqual(createMatcher(undefined).unmatched(), []);
    assert.ok(createMatcher([]).matches('anything'));
  });

  test('patterns that can never match are refused with MIRROR_CONFIG, naming why', () => {
    const cases: Array<[string, RegExp]> = [
      ['linux-image-6.1.0-55-amd64,linux-image-6.1.0-56-amd64', /comma/],
      ['linux image', /white space/],
      ['linux-image-[56', /unclosed \[/],
      ['linux-[]', /unclosed \[/],
      ['linux-[z-a]', /reversed/],
      ['linux-[[:nope:]]', /unknown character class/],
      ['linux-\\', /lone backslash/],
      ['', /empty/],
      ['x'.repeat(257), /longer than/],
    ];
    for (const [pattern, why] of cases) {
      assert.throws(
        () => checkPatterns([pattern]),
        (err: unknown) =>
          err instanceof MirrorConfigError && err.code === 'MIRROR_CONFIG' && why.test(err.message),
        pattern,
      );
    }
    assert.doesNotThrow(() => checkPatterns(PATTERNS));
  });
});
