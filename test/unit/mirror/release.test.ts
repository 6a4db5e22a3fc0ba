import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDeb822, splitList } from '@btfwatch/mirror/internal/deb822';
import { MirrorParseError } from '@btfwatch/mirror/internal/errors';
import { isRelativePath, parseRelease } from '@btfwatch/mirror/internal/release';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const RELEASE = `Origin: Debian
Label: Debian-Security
Suite: oldstable-security
Version: 12
Codename: bookworm-security
Date: Mon, 23 Nov 2026 11:22:37 UTC
Valid-Until: Mon, 30 Nov 2026 11:22:37 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: amd64 arm64
Components: updates/main updates/contrib
Description: Debian 12 - Security Updates
MD5Sum:
 ${'c'.repeat(32)}      20 main/Contents-amd64.gz
SHA256:
 ${SHA_A}        0 main/Contents-amd64
 ${SHA_B}   378656 main/binary-amd64/Packages.xz
`;

test('parseRelease reads the fields the scanner needs, SHA256 only', () => {
  const r = parseRelease(RELEASE, 'Release');
  assert.equal(r.suite, 'oldstable-security');
  assert.equal(r.codename, 'bookworm-security');
  assert.equal(r.date, '2026-11-23T11:22:37.000Z');
  assert.equal(r.validUntil, '2026-11-30T11:22:37.000Z');
  assert.deepEqual(r.architectures, ['amd64', 'arm64']);
  assert.deepEqual(r.components, ['updates/main', 'updates/contrib']);
  assert.equal(r.acquireByHash, true);
  assert.equal(r.archAllSeparate, true);
  assert.deepEqual([...r.files.keys()], ['main/Contents-amd64', 'main/binary-amd64/Packages.xz']);
  assert.deepEqual(r.files.get('main/binary-amd64/Packages.xz'), {
    path: 'main/binary-amd64/Packages.xz',
    sha256: SHA_B,
    size: 378656,
  });
});

test('parseRelease refuses what it cannot trust', () => {
  const cases = [
    '',
    'Suite: x\n',
    RELEASE.replace(`${SHA_B}   378656`, `${SHA_B}   37x656`),
    RELEASE.replace(SHA_B, 'zz'),
    RELEASE.replace('main/binary-amd64/Packages.xz', '../../etc/passwd'),
    RELEASE.replace('main/binary-amd64/Packages.xz', 'http://elsewhere/x'),
    RELEASE.replace('Date: Mon, 23 Nov 2026 11:22:37 UTC', 'Date: someday'),
    ` continuation first\n${RELEASE}`,
    `no colon here\n${RELEASE}`,
  ];
  for (const text of cases) {
    assert.throws(() => parseRelease(text, 'Release'), MirrorParseError, JSON.stringify(text.slice(0, 60)));
  }
});

test('deb822: paragraphs, case-insensitive fields, continuation lines', () => {
  const ps = parseDeb822(
    'Package: a\nDEPENDS: x,\n y (>= 1)\nDescription: d\n long\n .\n more\n\n\nPackage: b\n',
    'P',
  );
  assert.equal(ps.length, 2);
  assert.equal(ps[0]?.get('depends'), 'x,\ny (>= 1)');
  assert.equal(ps[0]?.get('description'), 'd\nlong\n\nmore');
  assert.deepEqual(splitList(ps[0]?.get('depends')), ['x', 'y (>= 1)']);
  assert.equal(ps[1]?.get('package'), 'b');
});

test('isRelativePath keeps URLs below their base', () => {
  assert.ok(isRelativePath('pool/main/l/linux/x.deb'));
  for (const p of ['', '/abs', '../x', 'a/../../b', 'a/./b', 'https://x/y', 'a\\b'])
    assert.ok(!isRelativePath(p), p);
});
