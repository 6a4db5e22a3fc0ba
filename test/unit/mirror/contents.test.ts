import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  aptRoleFromName,
  classifyPath,
  roleFromSignals,
  rpmRoleFromName,
} from '@btfwatch/mirror/internal/classify';
import { scanContents } from '@btfwatch/mirror/internal/contents';
import { compileMatch } from '@btfwatch/mirror/internal/glob';
import { parseSource, readParagraphs, toAptPackage } from '@btfwatch/mirror/internal/packages';
import { MirrorParseError } from '@btfwatch/mirror/internal/errors';

const CONTENTS = [
  'This header is free text from old Contents files',
  'FILE                                                    LOCATION',
  'boot/vmlinuz-6.1.0-18-amd64                             kernel/linux-image-6.1.0-18-amd64',
  'lib/modules/6.1.0-18-amd64/kernel/fs/ext4/ext4.ko       kernel/linux-image-6.1.0-18-amd64',
  'usr/lib/debug/lib/modules/6.1.0-18-amd64/kernel/fs/ext4/ext4.ko debug/linux-image-6.1.0-18-amd64-dbg',
  'usr/lib/modules/7.0.0-1-amd64/vmlinuz\tkernel/linux-binary-7.0.0-1-amd64',
  'usr/lib/modules/7.0.0-1-amd64/kernel/a b/x.ko.xz kernel/linux-modules-7.0.0-1-amd64',
  'usr/lib/modules/7.0.0-1-amd64/config                    kernel/linux-base-7.0.0-1-amd64',
  'usr/src/linux-headers-6.1.0-18-amd64/Module.symvers     kernel/linux-headers-6.1.0-18-amd64',
  'lib/modules/6.1.0-18-amd64/updates/dkms/zfs.ko          non-free/kernel/zfs-modules-6.1.0-18-amd64,contrib/kernel/other-modules',
  'usr/bin/hello                                           devel/hello',
  '',
].join('\n');

test('scanContents: kernel paths per package; paths with spaces; multi-package lines; debug paths ignored', async () => {
  // Tiny chunks exercise line reassembly across chunk boundaries.
  const bytes = Buffer.from(CONTENTS);
  const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
    bytes.subarray(i * 7, i * 7 + 7),
  );
  const r = await scanContents(Readable.from(chunks), 'Contents');
  assert.equal(r.lines, 11);
  const roles = Object.fromEntries([...r.packages].map(([n, s]) => [n, roleFromSignals(s)]));
  assert.deepEqual(roles, {
    'linux-image-6.1.0-18-amd64': 'kernel-image',
    'linux-binary-7.0.0-1-amd64': 'kernel-image',
    'linux-modules-7.0.0-1-amd64': 'kernel-modules',
    'linux-base-7.0.0-1-amd64': 'kernel-base',
    'linux-headers-6.1.0-18-amd64': 'kernel-headers',
    'zfs-modules-6.1.0-18-amd64': 'out-of-tree-modules',
    'other-modules': 'out-of-tree-modules',
  });
  assert.deepEqual([...(r.packages.get('linux-image-6.1.0-18-amd64')?.releases ?? [])], ['6.1.0-18-amd64']);
  assert.deepEqual([...(r.packages.get('linux-headers-6.1.0-18-amd64')?.releases ?? [])], ['6.1.0-18-amd64']);
});

test('scanContents: an empty file has no lines; a gzip stream works through the same reader', async () => {
  assert.equal((await scanContents(Readable.from([]), 'empty')).lines, 0);
  const { createGunzip } = await import('node:zlib');
  const gz = Readable.from([gzipSync(Buffer.from(CONTENTS))]).pipe(createGunzip());
  assert.equal((await scanContents(gz, 'gz')).packages.size, 7);
});

test('classifyPath covers Debian 12, Debian 7.x, Fedora, and refuses look-alikes', () => {
  assert.equal(classifyPath('boot/vmlinuz-6.1.0-18-amd64')?.kind, 'vmlinuz');
  assert.equal(classifyPath('lib/modules/6.5.6-300.fc39.x86_64/vmlinuz')?.kind, 'vmlinuz');
  assert.equal(
    classifyPath('usr/src/kernels/6.5.6-300.fc39.x86_64/Module.symvers')?.release,
    '6.5.6-300.fc39.x86_64',
  );
  assert.equal(classifyPath('lib/modules/6.1/kernel/a.ko.zst')?.kind, 'in-tree-module');
  assert.equal(classifyPath('lib/modules/6.1/extra/a.ko.gz')?.kind, 'other-module');
  // Debian 7.x linux-binary-unsigned-*, uncompressed images, Fedora's symvers.gz: as libs/pkg extracts them.
  assert.deepEqual(classifyPath('usr/lib/modules/7.2.13+deb14-amd64/vmlinuz.unsigned'), {
    kind: 'vmlinuz',
    release: '7.2.13+deb14-amd64',
  });
  assert.equal(classifyPath('boot/vmlinux-6.1.0-18-powerpc64le')?.kind, 'vmlinuz');
  assert.equal(classifyPath('lib/modules/6.5.6-300.fc39.x86_64/symvers.gz')?.kind, 'symvers');
  assert.deepEqual(classifyPath('boot/symvers-6.5.6-300.fc39.x86_64.gz'), {
    kind: 'symvers',
    release: '6.5.6-300.fc39.x86_64',
  });
  for (const p of [
    'lib/modules/6.1/modules.dep',
    'lib/modules/6.1/kernel/a.kol',
    'boot/grub/grub.cfg',
    'usr/share/doc/x/Module.symvers',
    'usr/lib/modules/7.2/vmlinuz.signed.sig',
    'boot/vmlinuz-6.1/x',
    'boot/symvers-6.1',
  ]) {
    assert.equal(classifyPath(p), undefined, p);
  }
});

test('name heuristics', () => {
  assert.equal(aptRoleFromName('linux-image-6.1.0-18-amd64'), 'kernel-image');
  assert.equal(aptRoleFromName('linux-image-6.1.0-18-amd64-dbg'), undefined);
  assert.equal(aptRoleFromName('linux-binary-7.0.0-1-amd64'), 'kernel-image');
  assert.equal(aptRoleFromName('linux-base'), undefined);
  assert.equal(aptRoleFromName('zfs-dkms'), undefined);
  assert.equal(aptRoleFromName('zfs-modules-6.1.0-18-amd64'), 'out-of-tree-modules');
  assert.equal(aptRoleFromName('perl-modules-5.36'), undefined);
  assert.equal(aptRoleFromName('hello'), undefined);
  assert.equal(rpmRoleFromName('kernel-modules-extra'), 'kernel-modules');
  assert.equal(rpmRoleFromName('kernel-debuginfo'), undefined);
  assert.equal(rpmRoleFromName('kernel-devel'), 'kernel-headers');
  assert.equal(rpmRoleFromName('kmod-nvidia'), 'out-of-tree-modules');
  assert.equal(rpmRoleFromName('kernel-tools'), undefined);
});

test('compileMatch: * and ? globs, literal everything else', () => {
  const m = compileMatch(['linux-image-6.1.0-5*', 'kmod-?']);
  assert.ok(m('linux-image-6.1.0-56-amd64'));
  assert.ok(!m('linux-image-6.1.0-48-amd64'));
  assert.ok(m('kmod-a'));
  assert.ok(!m('kmod-ab'));
  assert.ok(compileMatch('a.b')('a.b'));
  assert.ok(!compileMatch('a.b')('axb'));
  assert.ok(compileMatch(undefined)('anything'));
});

test('Packages paragraphs: conversion and validation', async () => {
  const sha = 'd'.repeat(64);
  const text = `Package: linux-image-6.1.0-18-amd64\nSource: linux-signed-amd64 (6.1.76+1)\nVersion: 6.1.76-1\nArchitecture: amd64\nInstalled-Size: 10\nPre-Depends: p\nDepends: kmod, linux-base (>= 4.3~)\nFilename: pool/main/l/x.deb\nSize: 5\nSHA256: ${sha}\n\nPackage: broken\nVersion: 1\n`;
  const paras: Array<Map<string, string>> = [];
  for await (const p of readParagraphs(Readable.from([Buffer.from(text)]), 'Packages')) paras.push(p);
  assert.equal(paras.length, 2);
  const pkg = toAptPackage(paras[0] as Map<string, string>, 'Packages');
  assert.deepEqual(pkg.source, { name: 'linux-signed-amd64', version: '6.1.76+1' });
  assert.deepEqual(pkg.depends, ['p', 'kmod', 'linux-base (>= 4.3~)']);
  assert.equal(pkg.installedSize, 10240);
  assert.throws(() => toAptPackage(paras[1] as Map<string, string>, 'Packages'), MirrorParseError);
  assert.deepEqual(parseSource('linux', 'linux-headers-x', '1-1'), { name: 'linux', version: '1-1' });
  assert.deepEqual(parseSource(undefined, 'hello', '2'), { name: 'hello', version: '2' });
});
