import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

/** Every module file under `dir`, depth first, in name order. */
export async function* moduleFiles(dir: string): AsyncGenerator<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* moduleFiles(path);
    else if (MODULE_FILE.test(entry.name)) yield path;
  }
}

/** Module arguments as files: a directory (e.g. /lib/modules/$(uname -r)) stands for every module under it. */
export async function expandModuleArgs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const isDir = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      out.push(path);
      continue;
    }
    for await (const file of moduleFiles(path)) out.push(file);
  }
  return out;
}
