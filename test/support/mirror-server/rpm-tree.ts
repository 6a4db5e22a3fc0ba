import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
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
  await run('createrepo_c', [
    '--no-database',
    '--simple-md-filenames',
    `--general-compress-type=${compression === 'gz' ? 'gz' : compression}`,
    root,
  ]);
  if (spec.noFilelists) {
    const path = join(root, 'repodata', 'repomd.xml');
    const xml = await readFile(path, 'utf8');
    await writeFile(path, xml.replace(/<data type="filelists">[\s\S]*?<\/data>\s*/, ''));
  }
  if (spec.signed !== false) {
    await key.detachSign(join(root, 'repodata', 'repomd.xml'), join(root, 'repodata', 'repomd.xml.asc'));
  }
}
