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

function dpkgOrder(a: string, b: string): number {
  const lt = () => {
    try {
      execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
      return true;
    } catch {
      return false;
    }
  };
  const eq = () => {
    try {
      execFileSync('dpkg', ['--compare-versions', a, 'eq', b]);
      return true;
    } catch {
      return false;
    }
  };
  return lt() ? -1 : eq() ? 0 : 1;
}

test('Debian version ordering agrees with dpkg --compare-versions', () => {
  for (const a of versions) {
    for (const b of versions) {
      assert.equal(Math.sign(compareDebianVersions(a, b)), dpkgOrder(a, b), `${a} vs ${b}`);
    }
  }
});
