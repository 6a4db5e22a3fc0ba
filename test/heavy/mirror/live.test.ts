// Opt-in: scans a real Debian mirror. Set BTFWATCH_LIVE_APT_MIRROR to the archive root of a
// debian-security mirror (the directory holding dists/), e.g. the one in your apt sources.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEBIAN_ARCHIVE_KEYRING, scanApt } from '@btfwatch/mirror';

const mirror = process.env['BTFWATCH_LIVE_APT_MIRROR'];
const match = process.env['BTFWATCH_LIVE_APT_MATCH'] ?? 'linux-image-6.1.0-5*';

test(
  'live: bookworm-security main amd64 has signed kernel images',
  { skip: mirror ? false : 'set BTFWATCH_LIVE_APT_MIRROR=http://<mirror>/debian-security to run' },
  async () => {
    const r = await scanApt({
      url: mirror as string,
      suite: 'bookworm-security',
      components: ['main'],
      architectures: ['amd64'],
      match,
      keyring: DEBIAN_ARCHIVE_KEYRING,
    });
    assert.ok(r.changed);
    assert.equal(r.insecure, false);
    assert.equal(r.signature.verified, true);
    assert.ok(r.signature.signers.length > 0);
    assert.equal(r.release.codename, 'bookworm-security');
    const images = r.packages.filter((p) => p.role === 'kernel-image');
    assert.ok(images.length > 0, `no kernel images matching ${match}`);
    for (const p of images) {
      assert.match(p.name, globRegExp(match));
      assert.match(p.sha256, /^[0-9a-f]{64}$/);
      assert.ok(p.size > 1_000_000);
      assert.ok(p.url.startsWith(mirror as string));
    }
  },
);

function globRegExp(glob: string): RegExp {
  const src = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${src}$`);
}
