import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInternalHost, redirectRefusal } from '@btfwatch/mirror/internal/redirect-policy';

test('internal hosts: loopback, private, link-local and localhost, in any spelling', () => {
  for (const h of [
    '127.0.0.1',
    '127.1.2.3',
    'localhost',
    '10.0.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[fe80::1]',
  ])
    assert.ok(isInternalHost(h), h);
  for (const h of ['deb.debian.org', '151.101.2.132', '[2a04:4e42::644]']) assert.ok(!isInternalHost(h), h);
});

test('a redirect may not escalate from a public mirror to an internal address', () => {
  assert.match(
    redirectRefusal(
      'http://deb.debian.org/debian/dists/x/InRelease',
      'http://169.254.169.254/latest/meta-data/',
    )!,
    /169\.254\.169\.254.*not followed/,
  );
  assert.ok(redirectRefusal('http://mirror.example/debian/', 'http://127.0.0.1:8080/x'));
  assert.ok(redirectRefusal('http://mirror.example/debian/', 'file:///etc/passwd'));
});

test('a mirror the admin put on an internal address may redirect within; public redirects are followed', () => {
  assert.equal(
    redirectRefusal('http://127.0.0.1:9000/debian/', 'http://127.0.0.1:9000/pool/x.deb'),
    undefined,
  );
  assert.equal(redirectRefusal('http://10.1.1.1/debian/', 'http://192.168.0.5/debian/x'), undefined);
  assert.equal(redirectRefusal('http://deb.debian.org/debian/', 'https://cdn.example/debian/x'), undefined);
});
