import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuardError, aptConfigValue, parseAptHookInput } from '@btfwatch/cli/guard';

// The inputs below are written the way apt-pkg/deb/dpkgpm.cc writes them (RunScriptsWithPkgs, SendPkgsInfo):
// version 1 is bare paths; 2 and 3 are "VERSION n", %-quoted key=value lines, a blank line, action lines.
// test/services/guard/apt-hook.test.ts checks the same parser against what a real apt-get writes.

const V3 = [
  'VERSION 3',
  'APT::Architecture=amd64',
  'APT::Build-Essential::=build-essential',
  'DPkg::Pre-Install-Pkgs::=/usr/local/libexec/btfwatch/apt-guard',
  'DPkg::Tools::Options::/usr/local/libexec/btfwatch/apt-guard::Version=3',
  'BtfWatch::Guard::Force=true',
  'Acquire::http::User-Agent=Debian%20APT-HTTP/1.3%20(2.6.1)%25',
  'Quote%3dIn%22Key=a%0ab',
  '',
  'linux-image-6.1.0-56-amd64 6.1.192-2 amd64 same < 6.1.192-2+guard1 amd64 same /var/cache/apt/archives/linux-image-6.1.0-56-amd64_6.1.192-2+guard1_amd64.deb',
  'kmod - - none < 30+20221128-1 amd64 foreign /tmp/with space/kmod_30+20221128-1_amd64.deb',
  'old-tool 1.0 amd64 none > - - none **REMOVE**',
  'linux-image-6.1.0-56-amd64 6.1.192-2 amd64 same < 6.1.192-2+guard1 amd64 same **CONFIGURE**',
  '',
].join('\n');

test('version 3: configuration (%-decoded, lists, case-insensitive) and nine-field action lines', () => {
  const input = parseAptHookInput(V3);
  assert.equal(input.version, 3);
  assert.equal(aptConfigValue(input, 'btfwatch::guard::FORCE'), 'true');
  assert.equal(aptConfigValue(input, 'Acquire::http::User-Agent'), 'Debian APT-HTTP/1.3 (2.6.1)%');
  assert.equal(aptConfigValue(input, 'Quote=In"Key'), 'a\nb');
  assert.deepEqual(input.config.get('dpkg::pre-install-pkgs::'), ['/usr/local/libexec/btfwatch/apt-guard']);
  assert.equal(input.actions.length, 4);
  assert.deepEqual(input.actions[0], {
    package: 'linux-image-6.1.0-56-amd64',
    oldVersion: '6.1.192-2',
    newVersion: '6.1.192-2+guard1',
    oldArch: 'amd64',
    newArch: 'amd64',
    direction: '<',
    action: 'unpack',
    file: '/var/cache/apt/archives/linux-image-6.1.0-56-amd64_6.1.192-2+guard1_amd64.deb',
  });
  // A first install has no old version; a file name may hold spaces (apt does not quote it).
  assert.equal(input.actions[1]!.oldVersion, null);
  assert.equal(input.actions[1]!.oldArch, null);
  assert.equal(input.actions[1]!.file, '/tmp/with space/kmod_30+20221128-1_amd64.deb');
  assert.deepEqual(
    input.actions.slice(2).map((a) => [a.action, a.direction, a.newVersion, a.file]),
    [
      ['remove', '>', null, null],
      ['configure', '<', '6.1.192-2+guard1', null],
    ],
  );
});

test('version 2: five-field action lines, no architectures', () => {
  const input = parseAptHookInput(
    'VERSION 2\nAPT::Architecture=amd64\n\nlinux-image-6.1.0-56-amd64 6.1.192-2 < 6.1.192-2+guard1 /x/U.deb\nlinux-image-6.1.0-56-amd64 6.1.192-2 < 6.1.192-2+guard1 **CONFIGURE**\n',
  );
  assert.equal(input.version, 2);
  assert.deepEqual(
    input.actions.map((a) => [
      a.package,
      a.oldVersion,
      a.direction,
      a.newVersion,
      a.oldArch,
      a.action,
      a.file,
    ]),
    [
      ['linux-image-6.1.0-56-amd64', '6.1.192-2', '<', '6.1.192-2+guard1', null, 'unpack', '/x/U.deb'],
      ['linux-image-6.1.0-56-amd64', '6.1.192-2', '<', '6.1.192-2+guard1', null, 'configure', null],
    ],
  );
});

test('version 1: one absolute .deb path per line; an empty transaction is valid', () => {
  const input = parseAptHookInput('/var/cache/apt/archives/a_1_amd64.deb\n/tmp/b c.deb\n');
  assert.equal(input.version, 1);
  assert.deepEqual(
    input.actions.map((a) => a.file),
    ['/var/cache/apt/archives/a_1_amd64.deb', '/tmp/b c.deb'],
  );
  assert.equal(parseAptHookInput('').actions.length, 0);
  assert.equal(parseAptHookInput('VERSION 3\n\n').actions.length, 0);
});

test('input apt never writes is GUARD_BAD_HOOK_INPUT naming the line, never a partial result', () => {
  const cases: Array<[string, RegExp]> = [
    ['relative/path.deb\n', /line 1: expected an absolute \.deb path/],
    ['VERSION 4\n\n', /protocol version 4/],
    ['VERSION 3\nAPT::Architecture=amd64\n', /does not end with a blank line/],
    ['VERSION 3\nno-equals-sign\n\n', /line 2: configuration line without key=value/],
    ['VERSION 3\nKey=bad%zz\n\n', /bad %-escape/],
    ['VERSION 3\n\npkg 1 amd64 same < 2 amd64 same\n', /line 3: expected 9 fields/],
    ['VERSION 2\n\npkg 1 ~ 2 /x.deb\n', /version change "~"/],
    ['VERSION 2\n\npkg 1 < 2 x.deb\n', /is not a path/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseAptHookInput(text),
      (err: unknown) =>
        err instanceof GuardError && err.code === 'GUARD_BAD_HOOK_INPUT' && message.test(err.message),
      JSON.stringify(text),
    );
  }
});
