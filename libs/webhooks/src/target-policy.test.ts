import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  WebhookTargetError,
  checkTargetAddresses,
  checkTargetUrl,
  generateSecret,
  signedHeaders,
} from './index.ts';

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
