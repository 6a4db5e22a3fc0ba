import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './exec.ts';
import type { SigningKey } from './gpg.ts';

export interface AptSuiteSpec {
  /** .deb files to publish in this suite. */
  packages: string[];
  /** Component for all of them. Default `main`. */
  component?: string;
  /** Default: the suite name. */
  codename?: string;
  /** Default: `amd64` plus every non-`all` architecture among the packages. */
  architectures?: string[];
  /** Publish `<component>/Contents-<arch>.gz`. Default true. */
  contents?: boolean;
  /** Publish the Contents index but empty (as Debian's security archive does). Default false. */
  emptyContents?: boolean;
  /** Publish InRelease. Default true (when signed). */
  inRelease?: boolean;
  /** Publish Release.gpg. Default true (when signed). */
  releaseGpg?: boolean;
  /** Sign at all. Default true. */
  signed?: boolean;
  /** `Acquire-By-Hash: yes` and by-hash copies. Default true. */
  acquireByHash?: boolean;
  /** Default: a week from now. `null`: no Valid-Until field. */
  validUntil?: Date | null;
  /** Default: now. */
  date?: Date;
  /** Compressions of Packages published (and listed). Default `['xz', 'gz']`. */
  packagesCompression?: Array<'xz' | 'gz' | 'none'>;
  /**
   * Keep arch:all packages in `binary-all` only, with `No-Support-for-Architecture-all: Packages`, as
   * Debian's main archive does. Default false (arch:all packages listed under every architecture).
   */
  archAllSeparate?: boolean;
}

interface DebInfo {
  file: string;
  control: Map<string, string>;
  controlText: string;
  files: string[];
}

async function inspectDeb(file: string): Promise<DebInfo> {
  const controlText = (await run('dpkg-deb', ['-f', file])).toString().trimEnd();
  const control = new Map<string, string>();
  for (const line of controlText.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m?.[1]) control.set(m[1].toLowerCase(), m[2] ?? '');
  }
  const listing = (await run('dpkg-deb', ['-c', file])).toString();
  const files: string[] = [];
  for (const line of listing.split('\n')) {
    // perms owner size date time path [-> target]
    const m = /^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+(.*)$/.exec(line);
    const raw = m?.[1];
    if (!raw || line.startsWith('d')) continue;
    const path = raw.replace(/ -> .*$/, '').replace(/^\.\//, '');
    if (path) files.push(path);
  }
  return { file, control, controlText, files };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function xz(data: Uint8Array): Promise<Buffer> {
  return run('xz', ['-c', '-6'], { input: data });
}

/** Write `dists/<suite>/...` and `pool/...` for every suite under `root`, signed with `key`. */
export async function buildAptTree(
  root: string,
  suites: Record<string, AptSuiteSpec>,
  key: SigningKey,
): Promise<void> {
  await rm(join(root, 'dists'), { recursive: true, force: true });
  for (const [suite, spec] of Object.entries(suites)) {
    const component = spec.component ?? 'main';
    const debs = await Promise.all(spec.packages.map(inspectDeb));
    const archs = spec.architectures ?? [
      ...new Set([
        'amd64',
        ...debs.map((d) => d.control.get('architecture') ?? 'amd64').filter((a) => a !== 'all'),
      ]),
    ];
    const dist = join(root, 'dists', suite);
    const indexFiles = new Map<string, Buffer>();
    const entries = new Map<string, { filename: string; size: number; md5: string; sha256: string }>();
    for (const deb of debs) {
      const name = deb.control.get('package') ?? basename(deb.file);
      const source = (deb.control.get('source') ?? name).split(' ')[0] ?? name;
      const prefix = source.startsWith('lib') ? source.slice(0, 4) : source.slice(0, 1);
      const filename = `pool/${component}/${prefix}/${source}/${basename(deb.file)}`;
      await mkdir(dirname(join(root, filename)), { recursive: true });
      await copyFile(deb.file, join(root, filename));
      // Hashed as a stream: whole kernel packages are 70 MB and more.
      const md5 = createHash('md5');
      const sha = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(deb.file) as AsyncIterable<Buffer>) {
        md5.update(chunk);
        sha.update(chunk);
        size += chunk.length;
      }
      entries.set(deb.file, { filename, size, md5: md5.digest('hex'), sha256: sha.digest('hex') });
    }
    const units = spec.archAllSeparate ? [...archs, 'all'] : archs;
    for (const arch of units) {
      const mine = debs.filter((d) => {
        const a = d.control.get('architecture') ?? '';
        return spec.archAllSeparate ? a === arch : a === arch || a === 'all';
      });
      const paragraphs = mine.map((d) => {
        const e = entries.get(d.file);
        if (!e) throw new Error('unreachable');
        return `${d.controlText}\nFilename: ${e.filename}\nSize: ${e.size}\nMD5sum: ${e.md5}\nSHA256: ${e.sha256}\n`;
      });
      const packages = Buffer.from(paragraphs.join('\n'));
      const stem = `${component}/binary-${arch}/Packages`;
      for (const c of spec.packagesCompression ?? ['xz', 'gz']) {
        if (c === 'xz') indexFiles.set(`${stem}.xz`, await xz(packages));
        else if (c === 'gz') indexFiles.set(`${stem}.gz`, gzipSync(packages));
        else indexFiles.set(stem, packages);
      }
      if (spec.contents !== false) {
        const byPath = new Map<string, string[]>();
        if (!spec.emptyContents) {
          for (const d of mine) {
            const loc = `${d.control.get('section') ?? 'misc'}/${d.control.get('package') ?? ''}`;
            for (const f of d.files) byPath.set(f, [...(byPath.get(f) ?? []), loc]);
          }
        }
        const lines = [...byPath.keys()]
          .sort()
          .map((p) => `${p.padEnd(60)} ${(byPath.get(p) ?? []).join(',')}\n`);
        indexFiles.set(`${component}/Contents-${arch}.gz`, gzipSync(Buffer.from(lines.join(''))));
      }
    }
    const byHash = spec.acquireByHash !== false;
    for (const [path, bytes] of indexFiles) {
      await mkdir(dirname(join(dist, path)), { recursive: true });
      await writeFile(join(dist, path), bytes);
      if (byHash) {
        const dir = join(dist, dirname(path), 'by-hash', 'SHA256');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, sha256(bytes)), bytes);
      }
    }
    const date = spec.date ?? new Date();
    const validUntil =
      spec.validUntil === undefined ? new Date(date.getTime() + 7 * 86400_000) : spec.validUntil;
    const release = [
      'Origin: btfwatch-test',
      'Label: btfwatch-test',
      `Suite: ${suite}`,
      `Codename: ${spec.codename ?? suite}`,
      `Date: ${date.toUTCString().replace('GMT', 'UTC')}`,
      ...(validUntil ? [`Valid-Until: ${validUntil.toUTCString().replace('GMT', 'UTC')}`] : []),
      ...(byHash ? ['Acquire-By-Hash: yes'] : []),
      `Architectures: ${(spec.archAllSeparate ? ['all', ...archs] : archs).join(' ')}`,
      ...(spec.archAllSeparate ? ['No-Support-for-Architecture-all: Packages'] : []),
      `Components: ${component}`,
      'Description: btfwatch loopback test archive',
      'SHA256:',
      ...[...indexFiles].map(([p, b]) => ` ${sha256(b)} ${String(b.length).padStart(8)} ${p}`),
      '',
    ].join('\n');
    const releasePath = join(dist, 'Release');
    await writeFile(releasePath, release);
    if (spec.signed !== false) {
      if (spec.inRelease !== false) await key.clearsign(releasePath, join(dist, 'InRelease'));
      if (spec.releaseGpg !== false) await key.detachSign(releasePath, join(dist, 'Release.gpg'));
    }
    await stat(releasePath);
  }
}
