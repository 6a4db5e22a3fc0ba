import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, mergeVerdicts, moduleOutcome, type ModuleVerdict } from '@btfwatch/cli/guard';

test('outcome: fails or corrupt breaks; rejected but loading loses BTF; unverified is unjudged', () => {
  assert.equal(moduleOutcome({ btf: 'rejected', load: 'fails' }), 'breaks');
  assert.equal(
    moduleOutcome({ btf: 'identical', load: 'fails' }),
    'breaks',
    'a modversions mismatch fails too',
  );
  assert.equal(moduleOutcome({ btf: 'corrupt', load: 'loads-with-btf' }), 'breaks');
  assert.equal(moduleOutcome({ btf: 'rejected', load: 'loads-without-btf' }), 'loses-btf');
  assert.equal(moduleOutcome({ btf: 'unverified', load: 'loads-with-btf' }), 'unjudged');
  assert.equal(moduleOutcome({ btf: 'absent', load: 'loads-without-btf' }), 'ok', 'no BTF to lose');
  for (const btf of ['identical', 'equivalent', 'relocated'] as const)
    assert.equal(moduleOutcome({ btf, load: 'loads-with-btf' }), 'ok');
  // Load unknown (offline: the kernel's CRCs are not known): the BTF verdict still tells what breaks.
  assert.equal(moduleOutcome({ btf: 'corrupt', load: 'unknown' }), 'breaks');
  assert.equal(moduleOutcome({ btf: 'rejected', load: 'unknown' }), 'loses-btf');
  assert.equal(moduleOutcome({ btf: 'identical', load: 'unknown' }), 'ok');
  assert.equal(moduleOutcome({ btf: 'unverified', load: 'unknown' }), 'unjudged');
});

const v = (outcome: ModuleVerdict['outcome'], path = `/lib/modules/r/${outcome}.ko`): ModuleVerdict => ({
  package: 'p 1',
  path,
  module: 'm',
  btf: 'identical',
  load: 'loads-with-btf',
  abi: 'unknown',
  explanation: '',
  loadReason: '',
  log: [],
  outcome,
  source: 'offline',
});

test('policies: default refuses breaks and warns on lost BTF; strict refuses both; report never refuses', () => {
  const breaks = [v('ok'), v('breaks')];
  const loses = [v('ok'), v('loses-btf')];
  const cases: Array<[ModuleVerdict[], 'default' | 'strict' | 'report', string, number]> = [
    [breaks, 'default', 'refuse', 1],
    [loses, 'default', 'warn', 0],
    [breaks, 'strict', 'refuse', 1],
    [loses, 'strict', 'refuse', 1],
    [breaks, 'report', 'warn', 0],
    [loses, 'report', 'warn', 0],
    [[v('ok')], 'strict', 'pass', 0],
  ];
  for (const [verdicts, policy, action, exitCode] of cases) {
    const d = decide(verdicts, { policy, force: false, judged: true });
    assert.deepEqual(
      [d.action, d.exitCode],
      [action, exitCode],
      `${policy}: ${verdicts.map((x) => x.outcome)}`,
    );
  }
  assert.deepEqual(decide(breaks, { policy: 'default', force: false, judged: true }).counts, {
    breaks: 1,
    'loses-btf': 0,
    unjudged: 0,
    ok: 1,
  });
});

test('force turns a refusal into exit 0 but keeps it on record; never blocks what it cannot judge', () => {
  const forced = decide([v('breaks')], { policy: 'default', force: true, judged: true });
  assert.deepEqual([forced.action, forced.forced, forced.exitCode], ['refuse', true, 0]);
  assert.equal(decide([v('ok')], { policy: 'default', force: true, judged: true }).forced, false);
  // Nothing judged (no host BTF, a package unreadable): unknown, not an all-clear, and exit 0.
  assert.deepEqual(
    [decide([], { policy: 'strict', force: false, judged: false })].map((d) => [d.action, d.exitCode]),
    [['unknown', 0]],
  );
  assert.equal(
    decide([v('unjudged'), v('unjudged')], { policy: 'strict', force: false, judged: true }).action,
    'unknown',
  );
  // What was judged still counts when something else could not be read.
  assert.equal(decide([v('breaks')], { policy: 'default', force: false, judged: false }).action, 'refuse');
  assert.equal(decide([], { policy: 'default', force: false, judged: true }).action, 'pass');
});

test("merge: per module the worse of guard's and the service's verdicts; service-only modules count", () => {
  const offline = [v('ok', '/a.ko'), v('loses-btf', '/b.ko'), v('unjudged', '/c.ko')];
  const service = [
    { ...v('breaks', '/a.ko'), source: 'service' as const },
    { ...v('ok', '/b.ko'), source: 'service' as const },
    { ...v('ok', '/d.ko'), source: 'service' as const },
  ];
  const merged = mergeVerdicts(offline, service);
  assert.deepEqual(
    merged.map((m) => [m.path, m.outcome, m.source]),
    [
      ['/a.ko', 'breaks', 'service'],
      ['/b.ko', 'loses-btf', 'offline'],
      ['/c.ko', 'unjudged', 'offline'],
      ['/d.ko', 'ok', 'service'],
    ],
  );
});
