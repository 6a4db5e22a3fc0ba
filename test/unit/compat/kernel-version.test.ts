// Which upstream version a kernel is, from its banner (vmlinux linux_banner, /proc/version) or release:
// the validator's checks depend on it, so an unsound guess must come out as null, never as X.Y.0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVersionFromBanner, kernelVersionFromRelease, upstreamVersion } from '@btfwatch/compat';

// Real banners: Debian's from linux-image-6.1.0-55-amd64-unsigned 6.1.192-1 (vmlinuz), the others as
// those distributions print them in /proc/version.
const DEBIAN_61 =
  'Linux version 6.1.0-55-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, ' +
  'GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-1 (2026-11-14)';
const UBUNTU_68 =
  'Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) ' +
  '13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024';

test("Debian: the package version after the build number, not the ABI name nor the compiler's version", () => {
  assert.deepEqual(kernelVersionFromBanner(DEBIAN_61), {
    version: '6.1.192',
    how: 'the Debian package version in the banner of 6.1.0-55-amd64',
  });
  const bpo = DEBIAN_61.replace('6.1.0-55-amd64', '6.12.38+deb12-amd64').replace(
    'Debian 6.1.192-1',
    'Debian 6.12.38-1~bpo12+1',
  );
  assert.equal(kernelVersionFromBanner(bpo)?.version, '6.12.38');
  // Without the package version, 6.1.0-55 says nothing about the stable level, and 6.1.y changed a check
  // (dots in identifiers, 6.1.35): no answer rather than 6.1.0.
  assert.equal(kernelVersionFromBanner(DEBIAN_61.replace(' Debian 6.1.192-1', '')), null);
});

test('Ubuntu: the version signature carries the stable level; without it only series-invariant versions pass', () => {
  assert.equal(kernelVersionFromBanner(UBUNTU_68, 'Ubuntu 6.8.0-45.45-generic 6.8.12')?.version, '6.8.12');
  const bare = kernelVersionFromBanner(UBUNTU_68);
  assert.equal(bare?.version, '6.8.0');
  assert.match(bare?.how ?? '', /stable level is unknown, but no module BTF check changes within 6\.8\.y/);
  assert.equal(kernelVersionFromBanner(UBUNTU_68.replaceAll('6.8.0-45', '5.15.0-105')), null);
});

test('releases that carry the stable level are taken as they are', () => {
  assert.equal(kernelVersionFromRelease('6.12.117+deb13-amd64')?.version, '6.12.117');
  assert.equal(kernelVersionFromRelease('6.11.4-301.fc41.x86_64')?.version, '6.11.4');
  assert.equal(kernelVersionFromRelease('6.1.0-56-amd64'), null);
  assert.equal(kernelVersionFromRelease('5.10.0-30-amd64'), null);
  assert.equal(kernelVersionFromRelease('7.2.0-1-amd64')?.version, '7.2.0');
  assert.equal(kernelVersionFromRelease('not-a-kernel'), null);
  assert.equal(kernelVersionFromBanner('no banner here'), null);
});

test('upstreamVersion (what ingest stores): config header, else package version, never an unsound X.Y.0', () => {
  const config = (v: string) =>
    `#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 ${v} Kernel Configuration\n`;
  assert.equal(upstreamVersion(config('6.1.192'), '6.1.192-2'), '6.1.192');
  assert.equal(upstreamVersion(null, '6.12.117-1'), '6.12.117');
  assert.equal(upstreamVersion(null, '1:6.5.6-300.fc39'), '6.5.6');
  // Ubuntu: config and package say 5.15.0 for 5.15.158; 5.15.y changed a check at .118.
  assert.equal(upstreamVersion(config('5.15.0-105-generic'), '5.15.0-105.115'), null);
  assert.equal(upstreamVersion(config('5.15.0-105-generic'), '5.15.158-1'), '5.15.158');
  assert.equal(upstreamVersion(null, '6.8.0-45.45'), '6.8.0');
});
