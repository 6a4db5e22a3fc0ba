// Distillation and relocation against libbpf 1.5 (results recorded by
// test/fixtures/btf-distilled/regenerate.sh in a Debian 13 chroot): byte-identical output, or the
// same error, for every fixture module distilled over its base and relocated onto every base; and a
// real DKMS-style module whose .BTF.base pahole 1.30 wrote.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Btf,
  BtfError,
  TypeComparer,
  distillBase,
  dumpRaw,
  openBtf,
  readBtfFromFile,
  relocateSplit,
} from '@btfwatch/btf';
import { RELEASES, fixturesDir, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';

const BPFTOOL = existsSync('/usr/sbin/bpftool') ? '/usr/sbin/bpftool' : 'bpftool';
const distilledDir = join(fixturesDir, 'btf-distilled');
const work = mkdtempSync(join(tmpdir(), 'btfwatch-btf-relocate-'));
after(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const releases = Object.values(RELEASES) as string[];
const bases = new Map(releases.map((r) => [r, Btf.parse(vmlinuxBtf(r))]));
const base = (r: string) => bases.get(r) as Btf;

/** The distilled-base module, checked against its MANIFEST line. */
function distilledModule(): Buffer {
  const bytes = execFileSync('xz', ['-dc', join(distilledDir, 'btfwatch_distilled.ko.xz')]);
  const [sha] = readFileSync(join(distilledDir, 'MANIFEST'), 'utf8').split(/\s+/);
  assert.equal(sha256(bytes), sha, 'btfwatch_distilled.ko.xz does not match MANIFEST (regenerate?)');
  return bytes;
}

interface OracleLine {
  op: 'distill' | 'relocate' | 'open';
  release: string;
  module: string;
  target: string;
  ok: boolean;
  shas: string[];
  message: string;
}

const oracle: OracleLine[] = readFileSync(join(distilledDir, 'libbpf-results.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((line) => {
    const [op, release, module, target, status, ...rest] = line.split(' ');
    const ok = status === 'ok';
    return {
      op: op as OracleLine['op'],
      release: release as string,
      module: module as string,
      target: target as string,
      ok,
      shas: ok ? rest : [],
      message: ok ? '' : rest.join(' ').replace(/^.*?libbpf: /, ''),
    };
  });

/** Our error for a failed operation, compared to libbpf's first warning. */
function expectSameError(run: () => unknown, line: OracleLine): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${String(e)}`);
    assert.equal(e.code, 'BTF_RELOCATION');
    assert.equal(e.message, line.message);
    return true;
  });
}

test('the libbpf results cover every fixture module, every target, and the distilled module', () => {
  const distills = oracle.filter((l) => l.op === 'distill');
  assert.equal(
    distills.length,
    releases.reduce((n, r) => n + moduleNames(r).length, 0),
  );
  assert.equal(oracle.filter((l) => l.op === 'relocate').length, distills.length * releases.length);
  assert.equal(oracle.filter((l) => l.op === 'open').length, releases.length);
  assert.ok(
    oracle.some((l) => l.op === 'relocate' && !l.ok),
    'some relocations fail',
  );
  assert.ok(
    oracle.some((l) => l.op === 'relocate' && l.ok && l.release !== l.target),
    'some cross-build relocations succeed',
  );
});

for (const release of releases) {
  test(`distillBase and relocateSplit on ${release} modules: the bytes (or the error) libbpf produces`, () => {
    for (const name of moduleNames(release)) {
      const split = openBtf(readBtfFromFile(moduleElf(release, name)), base(release));
      const line = oracle.find(
        (l) => l.op === 'distill' && l.release === release && l.module === name,
      ) as OracleLine;
      assert.ok(line?.ok, `${release} ${name}: libbpf distilled it`);
      const d = distillBase(split);
      assert.equal(sha256(d.base.bytes), line.shas[0], `${release} ${name}: distilled base`);
      assert.equal(sha256(d.split.bytes), line.shas[1], `${release} ${name}: distilled split`);
      for (const target of releases) {
        const rel = oracle.find(
          (l) => l.op === 'relocate' && l.release === release && l.module === name && l.target === target,
        );
        assert.ok(rel, `${release} ${name} → ${target} in the results`);
        if (rel.ok) {
          const r = relocateSplit(d.split, base(target));
          assert.equal(sha256(r.btf.bytes), rel.shas[0], `${release} ${name} → ${target}`);
        } else {
          expectSameError(() => relocateSplit(d.split, base(target)), rel);
        }
      }
    }
  });
}

test('distill then relocate onto the same base: every module type is deeply equal to the original', () => {
  for (const release of releases) {
    for (const name of moduleNames(release)) {
      const split = openBtf(readBtfFromFile(moduleElf(release, name)), base(release));
      const r = relocateSplit(distillBase(split).split, base(release)).btf;
      assert.equal(r.startId, split.startId);
      const cmp = new TypeComparer(split, r);
      for (let id = split.startId; id < split.nrTypes; id++)
        assert.ok(cmp.equivalent(id, id), `${release} ${name} [${id}]`);
    }
  }
});

test('6.1.0-55 modules relocated onto 6.1.0-56 equal the 6.1.0-56 builds of the same modules', () => {
  const from = RELEASES.bookworm55;
  const to = RELEASES.bookworm56;
  for (const name of moduleNames(from)) {
    const r = relocateSplit(
      distillBase(openBtf(readBtfFromFile(moduleElf(from, name)), base(from))).split,
      base(to),
    ).btf;
    const built = openBtf(readBtfFromFile(moduleElf(to, name)), base(to));
    // The two builds order their types differently: match named types by kind and name.
    const byName = new Map<string, number[]>();
    for (let id = built.startId; id < built.nrTypes; id++) {
      const t = built.raw(id);
      if (t.nameOff)
        byName.set(`${t.kind}:${built.name(id)}`, [...(byName.get(`${t.kind}:${built.name(id)}`) ?? []), id]);
    }
    const cmp = new TypeComparer(r, built);
    let matched = 0;
    for (let id = r.startId; id < r.startId + built.count; id++) {
      const t = r.raw(id);
      if (!t.nameOff) continue;
      const candidates = byName.get(`${t.kind}:${r.name(id)}`) ?? [];
      assert.ok(
        candidates.some((c) => cmp.equivalent(id, c)),
        `${name}: ${r.type(id).toString()} has no equal in the 56 build`,
      );
      matched++;
    }
    assert.ok(matched > 0, name);
  }
});

test('a real module with .BTF.base (pahole 1.30, kbuild): relocated as libbpf does onto every base', () => {
  const ko = distilledModule();
  const file = readBtfFromFile(ko);
  assert.equal(file.format, 'elf');
  assert.ok(file.distilledBase, 'the module carries .BTF.base');
  const overDistilled = openBtf(file);
  assert.ok(overDistilled.base && overDistilled.base.count < 100, 'split over its small distilled base');
  for (const target of releases) {
    const line = oracle.find((l) => l.op === 'open' && l.target === target) as OracleLine;
    assert.ok(line, target);
    if (line.ok) assert.equal(sha256(openBtf(file, base(target)).bytes), line.shas[0], target);
    else expectSameError(() => openBtf(file, base(target)), line);
  }
  assert.ok(
    oracle.some((l) => l.op === 'open' && l.ok && l.target === RELEASES.trixie),
    'its own base relocates',
  );
});

test('bpftool 1.1 ignores .BTF.base: it reads .BTF over the full base by id, which we reproduce; relocation differs', () => {
  const ko = distilledModule();
  const path = join(work, 'btfwatch_distilled.ko');
  writeFileSync(path, ko);
  const basePath = join(work, 'base.btf');
  const b = base(RELEASES.trixie);
  writeFileSync(basePath, b.bytes);
  const theirs = execFileSync(BPFTOOL, ['-B', basePath, 'btf', 'dump', 'file', path, 'format', 'raw'], {
    encoding: 'utf8',
  });
  const file = readBtfFromFile(ko);
  const unrelocated = dumpRaw(Btf.parse(file.btf, b));
  assert.equal(unrelocated, theirs, 'bpftool 1.1 = .BTF read over the full base, no relocation');
  const relocated = openBtf(file, b);
  assert.notEqual(dumpRaw(relocated), theirs, 'relocation changes what the ids mean');
  // The relocated blob itself is ordinary split BTF that bpftool dumps like we do.
  const relPath = join(work, 'relocated.btf');
  writeFileSync(relPath, relocated.bytes);
  assert.equal(
    dumpRaw(relocated),
    execFileSync(BPFTOOL, ['-B', basePath, 'btf', 'dump', 'file', relPath, 'format', 'raw'], {
      encoding: 'utf8',
    }),
  );
  assert.match(dumpRaw(relocated), /STRUCT 'btfwatch_state'/);
});
