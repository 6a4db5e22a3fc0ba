import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openIndex } from '@btfwatch/mirror/internal/index-file';
import { MirrorIndexTooLargeError, MirrorParseError } from '@btfwatch/mirror/internal/errors';

const dir = mkdtempSync(join(tmpdir(), 'bw-mirror-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const lines = Buffer.from('usr/bin/hello                  devel/hello\n'.repeat((32 * MiB) / 44));

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function drain(path: string, max?: number): Promise<number> {
  let n = 0;
  for await (const chunk of await openIndex(path, path, max)) n += (chunk as Buffer).length;
  return n;
}

const bombs = {
  gzip: () => gzipSync(lines, { level: 9 }),
  xz: () => execFileSync('xz', ['-T2', '-c'], { input: lines, maxBuffer: 1 << 30 }),
  zstd: () => execFileSync('zstd', ['-q', '-c'], { input: lines, maxBuffer: 1 << 30 }),
  none: () => lines,
};

for (const [kind, make] of Object.entries(bombs)) {
  test(`${kind}: an index decompressing past maxBytes is MIRROR_INDEX_TOO_LARGE; at the limit it reads whole`, async () => {
    const path = file(`Packages.${kind}`, make());
    const started = Date.now();
    await assert.rejects(drain(path, 4 * MiB), (err: unknown) => {
      assert.ok(err instanceof MirrorIndexTooLargeError, String(err));
      assert.equal(err.code, 'MIRROR_INDEX_TOO_LARGE');
      assert.equal(err.transient, false);
      assert.equal(err.limit, 4 * MiB);
      return true;
    });
    assert.ok(Date.now() - started < 5000, `${kind}: stopped after ${Date.now() - started} ms`);
    assert.equal(await drain(path, lines.length), lines.length);
  });
}

test('a corrupt compressed index is still MIRROR_PARSE behind the cap', async () => {
  const gz = Buffer.from(bombs.gzip());
  gz[gz.length >> 1]! ^= 0xff;
  await assert.rejects(drain(file('corrupt.gz', gz)), MirrorParseError);
});
