// RHEL weak-updates: which kernels share a kABI stream, which pairs weak-modules links kmods across, and the
// alert's wording for kmods that break on the later kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isWeakUpdatesPair,
  kabiStream,
  weakUpdatesBreakAlert,
  weakUpdatesCause,
  type AlertCandidate,
} from '@btfwatch/compat';

test('kabiStream: RHEL-family releases by upstream version, elN major and variant; others have none', () => {
  assert.equal(kabiStream('5.14.0-427.13.1.el9_4.x86_64'), '5.14.0-*.el9');
  assert.equal(kabiStream('5.14.0-503.el9.aarch64'), '5.14.0-*.el9');
  assert.equal(kabiStream('4.18.0-513.5.1.el8_9.x86_64'), '4.18.0-*.el8');
  assert.equal(kabiStream('5.14.0-427.13.1.el9_4.x86_64+rt'), '5.14.0-*.el9+rt');
  assert.equal(kabiStream('6.11.4-301.fc41.x86_64'), null, 'Fedora rebuilds kmods per kernel (akmods)');
  assert.equal(kabiStream('6.1.0-56-amd64'), null);
  assert.equal(kabiStream('6.4.0-150600.23.25-default'), null);
});

test('isWeakUpdatesPair: a newer kernel of the same stream, never the same release or another stream', () => {
  const k = (id: number, release: string, version: string) => ({ id, release, version });
  const a = k(1, '5.14.0-427.13.1.el9_4.x86_64', '5.14.0-427.13.1.el9_4');
  const b = k(2, '5.14.0-503.11.1.el9_5.x86_64', '5.14.0-503.11.1.el9_5');
  assert.equal(isWeakUpdatesPair(a, b), true);
  assert.equal(isWeakUpdatesPair(b, a), false, 'kmods are linked forward only');
  assert.equal(isWeakUpdatesPair(a, { ...a, id: 3 }), false, 'the same release is an in-place upload');
  assert.equal(isWeakUpdatesPair(a, k(4, '5.14.0-427.13.1.el9_4.x86_64+rt', '5.14.0-427.13.1.el9_4')), false);
  assert.equal(isWeakUpdatesPair(a, k(5, '6.12.0-55.el10.x86_64', '6.12.0-55.el10')), false);
  assert.equal(
    isWeakUpdatesPair(
      k(6, '6.11.4-301.fc41.x86_64', '6.11.4-301.fc41'),
      k(7, '6.11.5-300.fc41.x86_64', '6.11.5-300.fc41'),
    ),
    false,
  );
});

test('weakUpdatesBreakAlert: kmods built for the earlier kernel that break on the later one, on the earlier', () => {
  const built = { id: 1, release: '6.1.192-1.el9.x86_64', version: '6.1.192-1.el9' };
  const target = { id: 2, release: '6.1.192-2.el9.x86_64', version: '6.1.192-2.el9' };
  const candidate = (over: Partial<AlertCandidate>): AlertCandidate => ({
    moduleBuildId: 10,
    moduleName: 'dummy',
    packageName: 'kmod-dummy',
    packageVersion: '1.0-1.el9',
    kernelBuildId: target.id,
    btf: 'rejected',
    abi: 'compatible',
    load: 'fails',
    kernelLog: ['failed to validate module [dummy] BTF: -22'],
    ...over,
  });
  assert.equal(
    weakUpdatesBreakAlert(built, target, [candidate({ btf: 'identical', load: 'loads-with-btf' })]),
    null,
  );
  assert.equal(
    weakUpdatesBreakAlert(built, target, [candidate({ abi: 'incompatible' })]),
    null,
    'weak-modules does not link a kmod whose CRCs the later kernel does not satisfy',
  );
  const alert = weakUpdatesBreakAlert(built, target, [
    candidate({}),
    candidate({ moduleBuildId: 11, load: 'unknown' }),
  ]);
  assert.ok(alert);
  assert.equal(alert.kernelBuildId, built.id);
  assert.equal(alert.cause, weakUpdatesCause(target));
  assert.equal(alert.severity, 'critical');
  assert.equal(alert.affectedModules, 2);
  assert.equal(alert.details.via, 'weak-updates');
  assert.equal(
    alert.summary,
    '2 out-of-tree modules built for 6.1.192-1.el9.x86_64 (6.1.192-1.el9) that weak-updates links into ' +
      '6.1.192-2.el9.x86_64 (6.1.192-2.el9) break there once hosts reboot into it: 1 fails to load (BTF rejected), ' +
      '1 has its BTF rejected, and whether it loads is not known.',
  );
  assert.deepEqual(alert.details.firstLog, ['failed to validate module [dummy] BTF: -22']);
});
