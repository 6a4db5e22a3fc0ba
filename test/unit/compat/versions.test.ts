import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { compareDebianVersions } from '@btfwatch/compat';

const versions = [
  '6.1.192-1',
  '6.1.192-2',
  '6.1.187-1',
  '6.1.192-1~bpo11+1',
  '6.12.107-1~deb12u1',
  '6.12.107-1',
  '6.12.115-2',
  '6.12.115-1',
  '1:6.1.0-1',
  '7.2.13-1',
  '6.1.76-1+deb12u1',
  '6.1.76-1',
  '6.1.76a-1',
  '6.1.76-1.1',
  '2.0~rc1-1',
  '2.0-1',
];

/** dpkg's order of every pair, asked of dpkg itself in one shell (a pair per line: -1, 0 or 1). */
function dpkgOrders(pairs: Array<[string, string]>): number[] {
  const script = pairs
    .map(
      ([a, b]) =>
        `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`,
    )
    .join('\n');
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

test('Debian version ordering agrees with dpkg --compare-versions', () => {
  const pairs = versions.flatMap((a) => versions.map((b): [string, string] => [a, b]));
  const expected = dpkgOrders(pairs);
  assert.equal(expected.length, pairs.length);
  pairs.forEach(([a, b], i) => {
    assert.equal(Math.sign(compareDebianVersions(a, b)), expected[i], `${a} vs ${b}`);
  });
});
