// Writes the four distribution layouts of the pinned 6.1.0-56-cloud-amd64 build (test/support/distro-layouts.ts)
// into a directory, one subdirectory per layout with its package files and a layout.json of what a scan must find.
//   node --import tsx test/support/distro-layouts-cli.ts OUT_DIR [--modules fs,lib] [LAYOUT ...]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LAYOUTS, buildLayout, readSourceBuild, type Layout } from './distro-layouts.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { modules: { type: 'string' } },
});
const [out, ...wanted] = positionals;
if (!out) {
  process.stderr.write(
    'usage: distro-layouts-cli.ts OUT_DIR [--modules fs,lib] [ubuntu|rhel|opensuse|proxmox ...]\n',
  );
  process.exit(2);
}
const layouts = (wanted.length ? wanted : LAYOUTS) as Layout[];
for (const l of layouts) if (!LAYOUTS.includes(l)) throw new Error(`unknown layout ${l}`);
const src = readSourceBuild(values.modules?.split(','));
for (const layout of layouts) {
  const dir = join(resolve(out), layout);
  mkdirSync(dir, { recursive: true });
  const built = await buildLayout(layout, src, dir);
  writeFileSync(join(dir, 'layout.json'), `${JSON.stringify(built, null, 2)}\n`);
  process.stdout.write(
    `${layout}: ${built.packages.length} packages, ${built.modulePaths.length} modules, release ${built.release}\n`,
  );
}
