import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyPath } from '@btfwatch/pkg';
import { fixture, run } from '../../support/pkg.ts';

describe('classifyPath', () => {
  it('recognises every layout btfwatch ingests', () => {
    const cases: Array<[string, string | null, string | null, string]> = [
      ['./boot/vmlinuz-6.1.0-55-amd64', 'vmlinuz', '6.1.0-55-amd64', 'none'],
      ['/boot/vmlinux-6.1.0-55-powerpc64le', 'vmlinuz', '6.1.0-55-powerpc64le', 'none'],
      ['usr/lib/modules/7.2.13+deb14-amd64/vmlinuz', 'vmlinuz', '7.2.13+deb14-amd64', 'none'],
      ['./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz.unsigned', 'vmlinuz', '7.2.13+deb14-amd64', 'none'],
      ['/lib/modules/6.5.6-300.fc39.x86_64/vmlinuz', 'vmlinuz', '6.5.6-300.fc39.x86_64', 'none'],
      ['./lib/modules/6.1.0-55-amd64/kernel/lib/crc7.ko', 'module', '6.1.0-55-amd64', 'none'],
      [
        '/usr/lib/modules/6.12.117+deb13-amd64/kernel/fs/nls/nls_ucs2_utils.ko.xz',
        'module',
        '6.12.117+deb13-amd64',
        'xz',
      ],
      ['/lib/modules/6.9.0/updates/dkms/zfs.ko.zst', 'module', '6.9.0', 'zstd'],
      ['/lib/modules/6.9.0/extra/foo.ko.gz', 'module', '6.9.0', 'gzip'],
      ['/boot/config-6.1.0-55-amd64', 'config', '6.1.0-55-amd64', 'none'],
      ['/usr/lib/modules/7.2.13+deb14-amd64/config', 'config', '7.2.13+deb14-amd64', 'none'],
      ['/lib/modules/6.5.6-300.fc39.x86_64/config', 'config', '6.5.6-300.fc39.x86_64', 'none'],
      ['./usr/src/linux-headers-6.1.0-55-amd64/Module.symvers', 'symvers', '6.1.0-55-amd64', 'none'],
      ['/usr/src/kernels/6.5.6-300.fc39.x86_64/Module.symvers', 'symvers', '6.5.6-300.fc39.x86_64', 'none'],
      ['/lib/modules/6.5.6-300.fc39.x86_64/symvers.gz', 'symvers', '6.5.6-300.fc39.x86_64', 'gzip'],
      ['/boot/symvers-6.5.6-300.fc39.x86_64.gz', 'symvers', '6.5.6-300.fc39.x86_64', 'gzip'],
      [
        '/lib/modules/5.14.0-427.13.1.el9_4.x86_64/symvers.xz',
        'symvers',
        '5.14.0-427.13.1.el9_4.x86_64',
        'xz',
      ],
      ['/boot/symvers-5.14.0-427.13.1.el9_4.x86_64.xz', 'symvers', '5.14.0-427.13.1.el9_4.x86_64', 'xz'],
      ['/boot/System.map-6.1.0-55-amd64', 'systemmap', '6.1.0-55-amd64', 'none'],
      ['/usr/lib/modules/7.2.13+deb14-amd64/System.map', 'systemmap', '7.2.13+deb14-amd64', 'none'],
    ];
    for (const [path, kind, release, compression] of cases) {
      assert.deepEqual(classifyPath(path), { kind, release, compression }, path);
    }
  });

  it('ignores everything else, and paths that climb out', () => {
    for (const path of [
      '/lib/modules/6.1.0-55-amd64/modules.order',
      '/lib/modules/6.1.0-55-amd64/kernel/lib/crc7.ko.bz2',
      '/lib/modules/crc7.ko',
      '/usr/share/doc/linux-image-6.1.0-55-amd64/changelog.Debian.gz',
      '/boot/config-',
      '/boot/vmlinuz',
      '/usr/src/linux-headers-6.1.0-55-common/Makefile',
      '/lib/modules/../../boot/vmlinuz-6.1.0-55-amd64',
      '/tmp/x/lib/modules/6.1/kernel/a.ko',
      './boot/config-6.1\0',
    ]) {
      assert.equal(classifyPath(path), null, JSON.stringify(path));
    }
  });

  it('picks exactly the interesting files of a real package listing', () => {
    const listing = run('dpkg-deb', ['-c', fixture('deb/linux-image-6.1-none.deb')])
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[5]!);
    const picked = listing.filter((p) => classifyPath(p) !== null);
    assert.equal(picked.length, 9);
    assert.equal(picked.filter((p) => classifyPath(p)?.kind === 'module').length, 6);
  });
});
