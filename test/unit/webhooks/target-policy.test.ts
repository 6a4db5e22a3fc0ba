import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  WebhookTargetError,
  checkTargetAddresses,
  checkTargetUrl,
  embeddedIpv4,
  generateSecret,
  signedHeaders,
} from '@btfwatch/webhooks';

const none = { allow: [] };

test('private, loopback, link-local and mapped addresses are refused', () => {
  for (const addr of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '0.0.0.0',
  ]) {
    assert.throws(() => checkTargetAddresses('h', [addr], none), WebhookTargetError, addr);
  }
});

test('public addresses pass; one bad address among several refuses the host', () => {
  checkTargetAddresses('example.org', ['93.184.216.34', '2606:2800:220:1::1'], none);
  assert.throws(
    () => checkTargetAddresses('rebind.example', ['93.184.216.34', '127.0.0.1'], none),
    /127\.0\.0\.1/,
  );
});

test('the allowlist admits hosts, addresses and CIDRs', () => {
  checkTargetAddresses('h', ['127.0.0.1'], { allow: ['127.0.0.1'] });
  checkTargetAddresses('h', ['10.9.8.7'], { allow: ['10.0.0.0/8'] });
  checkTargetAddresses('hooks.internal', ['10.9.8.7'], { allow: ['hooks.internal'] });
  assert.throws(() => checkTargetAddresses('h', ['10.9.8.7'], { allow: ['127.0.0.1'] }), WebhookTargetError);
});

test('URLs must be http(s) without credentials', () => {
  assert.throws(() => checkTargetUrl('file:///etc/passwd'), /http or https/);
  assert.throws(() => checkTargetUrl('http://user:pw@example.org/'), /credentials/);
  assert.throws(() => checkTargetUrl('not a url'), /not a URL/);
  assert.equal(checkTargetUrl('https://example.org/hook').hostname, 'example.org');
});

test('signed headers verify with the standardwebhooks package', () => {
  const secret = generateSecret();
  const body = JSON.stringify({ type: 'webhook.ping', data: {} });
  const headers = signedHeaders(secret, 'msg_abc', new Date(), body);
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(generateSecret()).verify(body, headers));
  assert.throws(() => new Webhook(secret).verify(body + ' ', headers));
});

test('IPv6 forms that embed an IPv4 address are judged by that address (mapped, NAT64, 6to4)', () => {
  assert.equal(embeddedIpv4('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(embeddedIpv4('::ffff:7f00:1'), '127.0.0.1');
  assert.equal(embeddedIpv4('64:ff9b::a9fe:a9fe'), '169.254.169.254');
  assert.equal(embeddedIpv4('64:ff9b::10.1.2.3'), '10.1.2.3');
  assert.equal(embeddedIpv4('2002:c0a8:0101::1'), '192.168.1.1');
  assert.equal(embeddedIpv4('2002:7f00:1:0:0:0:0:1'), '127.0.0.1');
  assert.equal(embeddedIpv4('2606:2800:220:1::1'), null);
  assert.equal(embeddedIpv4('127.0.0.1'), null);
  for (const [addr, inner] of [
    ['64:ff9b::7f00:1', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['64:ff9b::192.168.0.10', '192.168.0.10'],
    ['2002:0a00:0001::1', '10.0.0.1'],
    ['2002:7f00:0001::', '127.0.0.1'],
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
  ] as const) {
    assert.throws(
      () => checkTargetAddresses('h', [addr], none),
      (err: unknown) =>
        err instanceof WebhookTargetError &&
        err.code === 'WEBHOOK_TARGET_REFUSED' &&
        err.message.includes(`${addr}, which embeds ${inner}`),
      addr,
    );
  }
  // A public IPv4 behind NAT64 or 6to4 is an ordinary public target.
  checkTargetAddresses('v6only.example', ['64:ff9b::5db8:d822', '2002:5db8:d822::1'], none);
  // Allowlisting the IPv4 address admits its embedded forms too.
  checkTargetAddresses('h', ['64:ff9b::7f00:1'], { allow: ['127.0.0.0/8'] });
});

test('local-use NAT64, Teredo, IPv4-compatible and documentation ranges are refused outright', () => {
  for (const addr of ['64:ff9b:1::a00:1', '2001:0:4136:e378::1', '::8.8.8.8', '2001:db8::1', 'fec0::1']) {
    assert.throws(() => checkTargetAddresses('h', [addr], none), WebhookTargetError, addr);
  }
});
