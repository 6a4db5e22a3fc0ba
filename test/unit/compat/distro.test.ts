// The distribution and flavour a release string names, for mirrors with no configured distro.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distroFromRelease, releaseFlavour } from '@btfwatch/compat';

const CASES: Array<[release: string, distro: string | null, flavour: string | null]> = [
  ['6.1.0-56-amd64', 'debian', 'amd64'],
  ['6.1.0-56-cloud-amd64', 'debian', 'cloud-amd64'],
  ['6.12.117+deb13-rt-amd64', 'debian', 'rt-amd64'],
  ['7.2.13+deb14-arm64', 'debian', 'arm64'],
  ['6.1.0-57-686-pae', 'debian', '686-pae'],
  ['6.8.0-31-generic', 'ubuntu', 'generic'],
  ['6.8.0-1015-azure', 'ubuntu', 'azure'],
  ['5.15.0-105-lowlatency', 'ubuntu', 'lowlatency'],
  ['6.11.4-301.fc41.x86_64', 'fedora', null],
  ['6.11.4-301.fc41.x86_64+debug', 'fedora', 'debug'],
  ['5.14.0-427.13.1.el9_4.x86_64', 'rhel', null],
  ['6.1.0-56.el9.x86_64', 'rhel', null],
  ['6.4.0-150600.23.25-default', 'opensuse', 'default'],
  ['6.4.0-150600.8.5-azure', 'opensuse', 'azure'],
  ['6.11.8-1-default', 'opensuse', 'default'],
  ['6.8.12-4-pve', 'proxmox', 'pve'],
  ['5.15.108-1-pve', 'proxmox', 'pve'],
  ['6.9.3-custom', null, 'custom'],
  ['6.6.30', null, null],
];

for (const [release, distro, flavour] of CASES) {
  test(`${release}: ${distro ?? 'unknown distro'}, ${flavour ?? 'no flavour'}`, () => {
    assert.equal(distroFromRelease(release), distro);
    assert.equal(releaseFlavour(release), flavour);
  });
}
