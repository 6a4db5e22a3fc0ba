// Decompression bombs (zeros, compressed 1000–30000×) in every format: each decoder stops at the limit
// while it decodes, with PKG_LIMIT_EXCEEDED, and the process's peak RSS grows by about the limit, not by
// what the bomb expands to.
import assert from 'node:assert/strict';
import { resourceUsage } from 'node:process';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  PkgError,
  decompressModule,
  decompressStream,
  isolatedDecoders,
  type DecoderOptions,
} from '@btfwatch/pkg';
import { BOMB_FORMATS, MODULE_SUFFIX, bomb, type BombFormat } from '../../support/bombs.ts';

const MiB = 1024 * 1024;
const BOMB_MIB = 1024;
const LIMIT = 16 * MiB;
/** Peak RSS may grow by the limit, decoder windows and read-ahead; a decoder that ignores the limit adds ≥ 1 GiB. */
const MAX_PEAK_GROWTH = 160 * MiB;

const peakRss = () => resourceUsage().maxRSS * 1024;

const decoderChoices: Array<[string, DecoderOptions]> = [
  ['in-process', { xz: 'native', zstd: 'native', bzip2: 'js' }],
  ['zstd js', { zstd: 'js' }],
  ['isolated', isolatedDecoders()],
];

for (const format of Object.keys(BOMB_FORMATS) as BombFormat[]) {
  for (const [label, decoders] of decoderChoices) {
    if (label === 'zstd js' && format !== 'zstd') continue;
    test(`${format} bomb (${BOMB_MIB} MiB of zeros), ${label} decoders: stops at the limit`, async () => {
      const bytes = bomb(format, BOMB_MIB);
      const before = peakRss();
      let out = 0;
      const stream = decompressStream(Readable.from([bytes]), format, {
        decoders,
        maxOutputBytes: LIMIT,
        limitName: 'maxModuleBytes',
        maxBufferedInput: 64 * MiB,
        what: `bomb.${format}`,
      });
      const err = await (async () => {
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) out += chunk.length;
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof PkgError, `expected a PkgError, got ${String(err)} after ${out} bytes`);
      assert.equal(err.code, 'PKG_LIMIT_EXCEEDED', err.message);
      assert.ok(out <= LIMIT, `${out} bytes came out past the ${LIMIT}-byte limit`);
      const growth = peakRss() - before;
      assert.ok(growth < MAX_PEAK_GROWTH, `peak RSS grew by ${(growth / MiB).toFixed(0)} MiB`);
    });
  }
}

for (const format of Object.keys(MODULE_SUFFIX) as BombFormat[]) {
  test(`decompressModule: a ${format} module bomb is PKG_LIMIT_EXCEEDED naming maxModuleBytes`, async () => {
    const bytes = bomb(format, BOMB_MIB);
    const before = peakRss();
    await assert.rejects(
      decompressModule(`bomb${MODULE_SUFFIX[format]}`, bytes, { limits: { maxModuleBytes: LIMIT } }),
      (err: unknown) =>
        err instanceof PkgError && err.code === 'PKG_LIMIT_EXCEEDED' && /maxModuleBytes/.test(err.message),
    );
    assert.ok(peakRss() - before < MAX_PEAK_GROWTH);
  });
}
