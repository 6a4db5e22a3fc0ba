import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactDeep, redactText, redactUrl } from '@btfwatch/config';

test('redactUrl hides user info, whatever it contains, and keeps the rest of the URL', () => {
  assert.equal(redactUrl('http://user:pass@host/debian'), 'http://***@host/debian');
  assert.equal(
    redactUrl('https://u:p@ss%40w0rd@mirror.example:8080/x?y=1'),
    'https://***@mirror.example:8080/x?y=1',
  );
  assert.equal(redactUrl('http://token@host/'), 'http://***@host/');
  assert.equal(redactUrl('http://host/path?mail=a@b.c'), 'http://host/path?mail=a@b.c');
  assert.equal(redactUrl('http://host/debian'), 'http://host/debian');
});

test('redactText hides every URL credential and bearer token inside free text', () => {
  const text =
    'GET http://alice:s3cret@10.0.0.1/dists/x failed; retry redis://:hunter2@redis:6379 (Authorization: Bearer abc.def)';
  const out = redactText(text);
  for (const secret of ['alice', 's3cret', 'hunter2', 'abc.def']) assert.ok(!out.includes(secret), out);
  assert.match(out, /http:\/\/\*\*\*@10\.0\.0\.1\/dists\/x/);
});

test('redactDeep copies objects, arrays and errors with every string redacted', () => {
  const err = new Error('fetch http://u:pw@h/x: 404');
  const input = { url: 'http://u:pw@h/x', nested: [{ error: err }], n: 3, when: new Date(0) };
  const out = redactDeep(input);
  assert.equal(out.url, 'http://***@h/x');
  assert.equal(out.n, 3);
  assert.ok(out.when instanceof Date);
  const copied = out.nested[0]!.error;
  assert.ok(copied instanceof Error);
  assert.ok(!copied.message.includes('pw') && !String(copied.stack).includes('u:pw'));
  assert.equal(input.url, 'http://u:pw@h/x', 'the input is not modified');
  assert.ok(!JSON.stringify(out).includes('pw@'));
});
