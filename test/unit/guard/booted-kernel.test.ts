import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFacts, readBootedKernel } from '@btfwatch/cli/guard';
import { RELEASES, btfFixture, vmlinuxBtf } from '../../support/fixtures.ts';
import { sha256 } from '../../support/hash.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('btfwatch-booted-');
after(() => work.remove());
const put = (name: string, bytes: Uint8Array | string) => {
  const path = join(work.path, name);
  writeFileSync(path, bytes);
  return path;
};
const btf56 = put('vmlinux.btf', vmlinuxBtf(RELEASES.bookworm56));
const config56 = put('config', btfFixture(`${RELEASES.bookworm56}/config.xz`));
// A release no host runs, so nothing falls back to this machine's /boot or /proc.
const release = '6.1.0-56-guardtest';

test('stand-ins: BTF identity, config flags, and the upstream version from the config header', async () => {
  const k = await readBootedKernel({ btf: btf56, release, config: config56 });
  assert.equal(k.release, release);
  assert.equal(k.btf?.sha256, sha256(vmlinuxBtf(RELEASES.bookworm56)));
  assert.equal(k.btf?.nrTypes, 100751);
  assert.deepEqual(k.version, { version: '6.1.192', how: `the header of ${config56}` });
  assert.equal(k.flags?.MODULE_ALLOW_BTF_MISMATCH, true);
  assert.deepEqual(k.gaps, []);
  const facts = kernelFacts(k);
  assert.equal(facts.btf.kernelVersion, '6.1.192');
  // Offline the kernel's vermagic and CRCs are not known: ABI verdicts say unknown, never compatible.
  assert.deepEqual([facts.abi.vermagic, facts.abi.exports], [null, null]);
});

test('missing facts are null with the reason, never guessed', async () => {
  const noConfig = await readBootedKernel({ btf: btf56, release });
  assert.equal(noConfig.flags, null);
  assert.equal(noConfig.version, null, 'raw BTF from elsewhere carries no version');
  assert.deepEqual(noConfig.gaps, [
    `its config: no /boot/config-${release} (give --booted-config)`,
    `its upstream version: ${btf56} carries none and is not this host's running kernel (give --booted-kernel-version X.Y.Z)`,
  ]);
  const given = await readBootedKernel({ btf: btf56, release, kernelVersion: '6.1.192' });
  assert.deepEqual(given.version, { version: '6.1.192', how: '--booted-kernel-version' });

  const noBtf = await readBootedKernel({ btf: join(work.path, 'absent'), release, config: config56 });
  assert.equal(noBtf.btf, null);
  assert.equal(noBtf.btfProblem, `${join(work.path, 'absent')} does not exist`);
  const garbage = await readBootedKernel({
    btf: put('garbage', 'not btf at all'),
    release,
    config: config56,
  });
  assert.equal(garbage.btf, null);
  assert.match(garbage.btfProblem ?? '', /garbage: /);
});
