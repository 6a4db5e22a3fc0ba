import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from './exec.ts';
import type { SigningKey } from './gpg.ts';

export interface RpmRepoSpec {
  /** .rpm files to publish. */
  packages: string[];
  /** Sign repodata/repomd.xml (repomd.xml.asc). Default true. */
  signed?: boolean;
  /** Compression of primary/filelists/other. Default `gz`. */
  compression?: 'gz' | 'xz' | 'zstd';
  /** Omit filelists from repomd.xml (as if the repository had none). Default false. */
  noFilelists?: boolean;
}

/** Copy the packages to `<root>/Packages/` and run createrepo_c over `root`. */
export async function buildRpmTree(root: string, spec: RpmRepoSpec, key: SigningKey): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, 'Packages'), { recursive: true });
  for (const p of spec.packages) await copyFile(p, join(root, 'Packages', basename(p)));
  const compression = spec.compression ?? 'gz';
  // Debian's createrepo_c is built without zstd: make gz metadata and recompress it ourselves.
  await run('createrepo_c', [
    '--no-database',
    '--simple-md-filenames',
    `--general-compress-type=${compression === 'zstd' ? 'gz' : compression}`,
    root,
  ]);
  if (compression === 'zstd') await recompressZstd(root);
  if (spec.noFilelists) {
    const path = join(root, 'repodata', 'repomd.xml');
    const xml = await readFile(path, 'utf8');
    await writeFile(path, xml.replace(/<data type="filelists">[\s\S]*?<\/data>\s*/, ''));
  }
  if (spec.signed !== false) {
    await key.detachSign(join(root, 'repodata', 'repomd.xml'), join(root, 'repodata', 'repomd.xml.asc'));
  }
}

/** Replace every `*.xml.gz` in repomd.xml by a zstd copy, fixing href, checksum and size. */
async function recompressZstd(root: string): Promise<void> {
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  let xml = await readFile(repomdPath, 'utf8');
  xml = await replaceAsync(xml, /<data type="[^"]+">[\s\S]*?<\/data>/g, async (block) => {
    const href = /<location href="([^"]+\.xml\.gz)"\/>/.exec(block)?.[1];
    if (!href) return block;
    const plain = gunzipSync(await readFile(join(root, href)));
    const zst = await run('zstd', ['-q', '-c', '-19'], { input: plain });
    const newHref = href.replace(/\.gz$/, '.zst');
    await writeFile(join(root, newHref), zst);
    await rm(join(root, href));
    const sum = createHash('sha256').update(zst).digest('hex');
    return block
      .replace(href, newHref)
      .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sum}</checksum>`)
      .replace(/<size>\d+<\/size>/, `<size>${zst.length}</size>`);
  });
  await writeFile(repomdPath, xml);
}

async function replaceAsync(
  text: string,
  re: RegExp,
  fn: (match: string) => Promise<string>,
): Promise<string> {
  const parts: Array<string | Promise<string>> = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    parts.push(text.slice(last, m.index), fn(m[0]));
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(text.slice(last));
  return (await Promise.all(parts)).join('');
}
