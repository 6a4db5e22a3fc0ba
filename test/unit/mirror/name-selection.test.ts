// Selecting kernel packages from Packages paragraphs alone (no Contents): names and relations, with the
// relations of real Debian packages (trixie-backports 7.2 split layout, bookworm 6.1, linux-image-amd64).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relationNames, selectByNameAndRelations, selectRpmByNameAndRelations } from '@btfwatch/mirror';

const REL = '7.2.12+deb13-amd64';
const V = '7.2.12-1~bpo13+1';

test('relationNames: alternatives, versions and arch qualifiers', () => {
  assert.deepEqual(
    relationNames([
      'dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool',
      'gcc-14:native',
      'kmod',
    ]),
    ['dracut', 'initramfs-tools', 'linux-initramfs-tool', 'gcc-14', 'kmod'],
  );
});

test('Debian 7.x split packages: binary, modules, base and headers by name; the image meta package is left out', () => {
  const meta = selectByNameAndRelations({
    name: `linux-image-${REL}`,
    depends: [
      'dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool',
      `linux-base-${REL} (= ${V})`,
      `linux-binary-${REL} (= ${V})`,
      `linux-modules-${REL} (= ${V})`,
      'linux-base (>= 4.17~)',
    ],
    provides: [],
  });
  assert.equal(meta, undefined);
  const pick = (name: string, depends: string[] = []) =>
    selectByNameAndRelations({ name, depends, provides: [] })?.role;
  assert.equal(pick(`linux-binary-${REL}`, [`linux-base-${REL} (= ${V})`]), 'kernel-image');
  assert.equal(pick(`linux-binary-unsigned-${REL}`, [`linux-base-${REL} (= ${V})`]), 'kernel-image');
  assert.equal(pick(`linux-modules-${REL}`, ['kmod', `linux-base-${REL} (= ${V})`]), 'kernel-modules');
  assert.equal(pick(`linux-base-${REL}`), 'kernel-base');
  assert.equal(pick(`linux-headers-${REL}`, [`linux-base-${REL} (= ${V})`]), 'kernel-headers');
  assert.equal(pick(`linux-image-${REL}-dbg`, [`linux-base-${REL} (= ${V})`]), undefined);
  assert.equal(pick('linux-image-amd64', [`linux-image-${REL} (= ${V})`]), undefined);
});

test('Debian 12: linux-image-<rel> holds the kernel (its Depends name no other image)', () => {
  const r = selectByNameAndRelations({
    name: 'linux-image-6.1.0-56-amd64',
    depends: ['kmod', 'linux-base (>= 4.3~)', 'initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool'],
    provides: ['wireguard-modules (= 1.0.0)'],
  });
  assert.deepEqual(r, { role: 'kernel-image', evidence: 'name', releases: [] });
});

test('by relations: a package built for a concrete kernel, or standing in for one', () => {
  assert.deepEqual(
    selectByNameAndRelations({
      name: 'acme-kernel-driver',
      depends: ['linux-image-6.1.0-56-amd64 | linux-image-6.1.0-56-amd64-unsigned'],
      provides: [],
    }),
    {
      role: 'out-of-tree-modules',
      evidence: 'depends',
      releases: ['6.1.0-56-amd64'],
    },
  );
  assert.deepEqual(
    selectByNameAndRelations({
      name: 'vendor-kernel',
      depends: [],
      provides: ['linux-modules-6.1.0-56-amd64'],
    }),
    // A Provides does not always name the `uname -r` (Proxmox appends -amd64): the paths will tell.
    { role: 'kernel-modules', evidence: 'provides', releases: [] },
  );
  // Unversioned or virtual kernel names say nothing about a build.
  assert.equal(
    selectByNameAndRelations({
      name: 'firmware-x',
      depends: ['linux-image-amd64', 'linux-base'],
      provides: [],
    }),
    undefined,
  );
  assert.equal(
    selectByNameAndRelations({ name: 'hello', depends: ['libc6 (>= 2.34)'], provides: [] }),
    undefined,
  );
});

test('names that only look like kernel packages (bookworm-security without Contents) are left out', () => {
  const role = (name: string) => selectByNameAndRelations({ name, depends: [], provides: [] })?.role;
  // Libraries with "-modules-" in their name hold no kernel modules.
  for (const name of ['libsasl2-modules-db', 'libpam-modules-bin', 'ceph-mgr-modules-core'])
    assert.equal(role(name), undefined, name);
  // Shared headers carry no Module.symvers; unversioned names only pull a build in.
  for (const name of [
    'linux-headers-6.1.0-56-common',
    'linux-headers-6.12.118+deb12-common-rt',
    'linux-headers-amd64',
    'linux-headers-6.12-amd64',
    'linux-image-6.12-cloud-amd64',
    'linux-image-amd64',
  ])
    assert.equal(role(name), undefined, name);
  assert.equal(role('linux-headers-6.12.118+deb12-rt-amd64'), 'kernel-headers');
  assert.equal(role('linux-image-6.1.0-56-cloud-amd64-unsigned'), 'kernel-image');
  assert.equal(role('linux-image-6.8.0-31-generic'), 'kernel-image');
  assert.equal(role('zfs-modules-6.1.0-18-amd64'), 'out-of-tree-modules');
});

// Proxmox's kernel packages (pve-kernel debian/control.in), in a repository without Contents.
test('Proxmox: proxmox-kernel-<rel>-signed by its Provides, pve-kernel-<rel> by its initramfs dependency, the series meta left out', () => {
  const rel = '6.8.12-4-pve';
  assert.deepEqual(
    selectByNameAndRelations({
      name: `proxmox-kernel-${rel}-signed`,
      depends: ['busybox', 'initramfs-tools | linux-initramfs-tool'],
      provides: [`linux-image-${rel}-amd64`, `proxmox-kernel-${rel}`, `pve-kernel-${rel}-signed`],
    }),
    { role: 'kernel-image', evidence: 'provides', releases: [] },
  );
  assert.deepEqual(
    selectByNameAndRelations({
      name: 'pve-kernel-5.15.108-1-pve',
      depends: ['busybox', 'initramfs-tools | linux-initramfs-tool'],
      provides: ['linux-image', 'linux-image-2.6'],
    }),
    { role: 'kernel-image', evidence: 'depends', releases: [] },
  );
  assert.deepEqual(
    selectByNameAndRelations({
      name: `proxmox-headers-${rel}`,
      depends: [],
      provides: [`linux-headers-${rel}-amd64`, `pve-headers-${rel}`],
    }),
    { role: 'kernel-headers', evidence: 'provides', releases: [] },
  );
  assert.equal(
    selectByNameAndRelations({
      name: 'proxmox-kernel-6.8',
      depends: ['pve-firmware', `proxmox-kernel-${rel}-signed | proxmox-kernel-${rel}`],
      provides: ['linux-image-amd64', 'linux-image-generic', 'wireguard-modules (=1.0.0)', 'pve-kernel-6.8'],
    }),
    undefined,
  );
  assert.equal(
    selectByNameAndRelations({
      name: 'initramfs-tools',
      depends: ['klibc-utils'],
      provides: ['linux-initramfs-tool'],
    }),
    undefined,
  );
});

test('rpm without filelists: kernel parts by their -uname-r provides, kmods by requiring kernel-uname-r', () => {
  const rel = '6.11.4-301.fc41.x86_64';
  const pick = (name: string, provides: string[], requires: string[] = []) =>
    selectRpmByNameAndRelations({ name, provides, requires });
  assert.deepEqual(pick('kernel-core', [`kernel-uname-r = ${rel}`, `kernel-core-uname-r = ${rel}`]), {
    role: 'kernel-image',
    evidence: 'provides',
    releases: [rel],
  });
  assert.equal(
    pick('kernel-modules-core', [`kernel-modules-core-uname-r = ${rel}`], [`kernel-uname-r = ${rel}`])?.role,
    'kernel-modules',
  );
  assert.equal(pick('kernel-devel', [`kernel-devel-uname-r = ${rel}`])?.role, 'kernel-headers');
  assert.deepEqual(pick('acme-crc', [], [`kernel-uname-r = ${rel}`, 'kmod']), {
    role: 'out-of-tree-modules',
    evidence: 'depends',
    releases: [rel],
  });
  // A vendor kernel under another name: what it provides decides.
  assert.equal(
    pick('kernel-cachyos-core', [`kernel-uname-r = 6.12.9-cb1.fc41.x86_64`])?.role,
    'kernel-image',
  );
  assert.equal(pick('bash', ['/bin/sh'], ['libc.so.6()(64bit)']), undefined);
  assert.equal(pick('kernel-debuginfo', [`kernel-debuginfo-uname-r = ${rel}`]), undefined);
});
