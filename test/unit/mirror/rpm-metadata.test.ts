import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MirrorParseError } from '@btfwatch/mirror/internal/errors';
import { parseSourceRpm } from '@btfwatch/mirror/internal/rpm';
import {
  parseRepomd,
  readFilelists,
  readPrimary,
  type RpmPackage,
} from '@btfwatch/mirror/internal/rpm-metadata';

const SHA = 'e'.repeat(64);
const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm">
  <name>kernel-core</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="6.5.6" rel="300.fc39"/>
  <checksum type="sha256" pkgid="YES">${SHA}</checksum>
  <summary>The Linux kernel &amp; friends</summary>
  <location xml:base="http://elsewhere.example/fedora/" href="Packages/k/kernel-core-6.5.6-300.fc39.x86_64.rpm"/>
  <size package="123" installed="456" archive="789"/>
  <format>
    <rpm:sourcerpm>kernel-6.5.6-300.fc39.src.rpm</rpm:sourcerpm>
    <rpm:provides><rpm:entry name="kernel" flags="EQ" epoch="0" ver="6.5.6" rel="300.fc39"/></rpm:provides>
    <rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="dracut" flags="GE" epoch="0" ver="027"/></rpm:requires>
    <file>/etc/x</file>
  </format>
</package>
</metadata>`;

async function collect(xml: string): Promise<RpmPackage[]> {
  const out: RpmPackage[] = [];
  const bytes = Buffer.from(xml);
  const chunks = Array.from({ length: Math.ceil(bytes.length / 13) }, (_, i) =>
    bytes.subarray(i * 13, i * 13 + 13),
  );
  await readPrimary(Readable.from(chunks), 'primary', (p) => out.push(p));
  return out;
}

test('readPrimary streams packages with checksums, locations and dependencies', async () => {
  const [p, ...rest] = await collect(PRIMARY);
  assert.equal(rest.length, 0);
  assert.ok(p);
  assert.equal(p.name, 'kernel-core');
  assert.deepEqual(p.checksum, { type: 'sha256', value: SHA });
  assert.equal(p.xmlBase, 'http://elsewhere.example/fedora/');
  assert.equal(p.size, 123);
  assert.equal(p.installedSize, 456);
  assert.equal(p.sourceRpm, 'kernel-6.5.6-300.fc39.src.rpm');
  assert.deepEqual(p.provides, ['kernel = 6.5.6-300.fc39']);
  assert.deepEqual(p.requires, ['/bin/sh', 'dracut >= 027']);
});

test('readPrimary: malformed or incomplete XML is MirrorParseError, never a partial list', async () => {
  const cases = [
    PRIMARY.slice(0, PRIMARY.length - 30),
    PRIMARY.replace('<name>kernel-core</name>', ''),
    PRIMARY.replace(`>${SHA}<`, '><'),
    PRIMARY.replace('</arch>', '</archx>'),
    '<metadata><package type="rpm"',
  ];
  for (const xml of cases) {
    await assert.rejects(collect(xml), MirrorParseError, xml.slice(-40));
  }
});

test('readFilelists keeps kernel-path signals by pkgid', async () => {
  const xml = `<filelists><package pkgid="${SHA}" name="kernel-core" arch="x86_64"><version epoch="0" ver="1" rel="1"/>
  <file>/lib/modules/6.5.6-300.fc39.x86_64/vmlinuz</file><file type="dir">/lib/modules</file></package>
  <package pkgid="${'f'.repeat(64)}" name="bash" arch="x86_64"><file>/usr/bin/bash</file></package></filelists>`;
  const m = await readFilelists(Readable.from([Buffer.from(xml)]), 'filelists');
  assert.deepEqual([...m.keys()], [SHA]);
  assert.equal(m.get(SHA)?.vmlinuz, 1);
  assert.deepEqual([...(m.get(SHA)?.releases ?? [])], ['6.5.6-300.fc39.x86_64']);
});

test('parseRepomd and parseSourceRpm', () => {
  const repomd = parseRepomd(
    `<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1700000000</revision>
    <data type="primary"><checksum type="sha256">${SHA}</checksum><open-checksum type="sha256">${SHA}</open-checksum>
    <location href="repodata/primary.xml.zst"/><timestamp>1</timestamp><size>42</size><open-size>100</open-size></data></repomd>`,
    'repomd',
  );
  assert.equal(repomd.revision, '1700000000');
  assert.deepEqual(repomd.data.get('primary'), {
    type: 'primary',
    href: 'repodata/primary.xml.zst',
    checksum: { type: 'sha256', value: SHA },
    size: 42,
    openSize: 100,
    timestamp: 1,
  });
  assert.throws(() => parseRepomd('<repomd><data type="primary"></data></repomd>', 'r'), MirrorParseError);
  assert.throws(() => parseRepomd('<notrepomd/>', 'r'), MirrorParseError);
  assert.deepEqual(parseSourceRpm('kernel-6.5.6-300.fc39.src.rpm', 'x', 'y'), {
    name: 'kernel',
    version: '6.5.6-300.fc39',
  });
  assert.deepEqual(parseSourceRpm('kmod-acme-1.0-1.el9.src.rpm', 'x', 'y'), {
    name: 'kmod-acme',
    version: '1.0-1.el9',
  });
  assert.deepEqual(parseSourceRpm(undefined, 'x', 'y'), { name: 'x', version: 'y' });
});
