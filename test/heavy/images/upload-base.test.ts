// POST /v1/btf takes a kernel image of any layout a host has in /boot: every shipped image of the 8 builds gives
// the base its -dbg vmlinux holds (BUILDS), and an image built without BTF is a clear 400, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUILDS, shippedImage } from '../../support/images.ts';
import { startTestService } from '../../support/service.ts';

test(
  'POST /v1/btf: each shipped image is its -dbg base BTF; images without BTF are NO_BTF',
  { timeout: 600_000 },
  async () => {
    const svc = await startTestService('embedded');
    try {
      for (const b of BUILDS) {
        const res = await svc.app.inject({
          method: 'POST',
          url: '/v1/btf',
          headers: { 'content-type': 'application/octet-stream' },
          payload: readFileSync(shippedImage(b)),
        });
        if (b.btfSha256) {
          assert.equal(res.statusCode, 201, `${b.release}: ${res.body}`);
          const body = res.json() as { sha256: string; source: string };
          assert.equal(body.sha256, b.btfSha256, b.release);
          assert.equal(body.source, b.arch === 'ppc64el' ? 'vmlinux' : 'vmlinuz', b.release);
        } else {
          assert.equal(res.statusCode, 400, `${b.release}: ${res.body}`);
          assert.equal(res.json().error, 'NO_BTF', b.release);
        }
      }
    } finally {
      await svc.close();
    }
  },
);
