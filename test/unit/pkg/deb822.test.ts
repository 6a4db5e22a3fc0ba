import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deb822Field, parseDeb822, PkgError } from '@btfwatch/pkg';
import { fixture, run } from '../../support/pkg.ts';

describe('parseDeb822', () => {
  it('reads a real control file so that it prints back as dpkg-deb -f prints it', () => {
    const deb = fixture('deb/linux-image-6.12-cloud.deb');
    const text = run('bash', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./control`]).toString();
    const [p, ...rest] = parseDeb822(text);
    assert.equal(rest.length, 0);
    assert.ok(p);
    const printed = Object.entries(p)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
    assert.equal(printed, run('dpkg-deb', ['-f', deb]).toString());
    assert.equal(deb822Field(p, 'package'), 'linux-image-6.12.117+deb13-cloud-amd64-unsigned');
    assert.equal(p['Source'], 'linux');
    assert.match(p['Description']!, /\n /);
  });

  it('splits paragraphs, skips comments, keeps continuation lines', () => {
    const ps = parseDeb822(
      '# comment\nPackage: a\nDepends: x,\n y\n\n\nPackage: b\r\nDescription: s\n .\n long\n',
    );
    assert.deepEqual(
      ps.map((p) => ({ ...p })),
      [
        { Package: 'a', Depends: 'x,\n y' },
        { Package: 'b', Description: 's\n .\n long' },
      ],
    );
  });

  it('rejects malformed text with PKG_CORRUPT', () => {
    for (const bad of [' leading continuation\n', 'NoColon\n', 'A: 1\na: 2\n', ': empty name\n']) {
      assert.throws(
        () => parseDeb822(bad),
        (e: unknown) => e instanceof PkgError && e.code === 'PKG_CORRUPT',
        bad,
      );
    }
  });
});
