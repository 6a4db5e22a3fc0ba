import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from './exec.ts';

/** Files of a test package: path inside the package (no leading slash) → content. */
export type PackageFiles = Record<string, string | Uint8Array>;

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  section?: string;
  /** `Source:` field, e.g. `linux-signed-amd64 (6.1.76+1)`. */
  source?: string;
  depends?: string;
  provides?: string;
  recommends?: string;
  maintainer?: string;
  /** `dpkg-deb -Z`: gzip by default; Ubuntu builds its kernel packages with `none` (plain data.tar). */
  compression?: 'gzip' | 'xz' | 'zstd' | 'none';
  files: PackageFiles;
}

async function stage(root: string, files: PackageFiles): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Build a small .deb with dpkg-deb into `outDir`; returns its path. */
export async function buildDeb(spec: DebSpec, outDir: string): Promise<string> {
  const arch = spec.arch ?? 'amd64';
  const work = await mkdtemp(join(tmpdir(), 'bwdeb-'));
  try {
    await stage(work, spec.files);
    await mkdir(join(work, 'DEBIAN'), { recursive: true });
    const control = [
      `Package: ${spec.name}`,
      ...(spec.source ? [`Source: ${spec.source}`] : []),
      `Version: ${spec.version}`,
      `Architecture: ${arch}`,
      `Maintainer: ${spec.maintainer ?? 'btfwatch tests <tests@btfwatch.invalid>'}`,
      `Section: ${spec.section ?? 'kernel'}`,
      'Priority: optional',
      ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
      ...(spec.recommends ? [`Recommends: ${spec.recommends}`] : []),
      ...(spec.provides ? [`Provides: ${spec.provides}`] : []),
      `Description: btfwatch test package ${spec.name}`,
      ' Built by test/support/mirror-server for loopback mirror tests.',
      '',
    ].join('\n');
    await writeFile(join(work, 'DEBIAN', 'control'), control);
    await chmod(join(work, 'DEBIAN'), 0o755);
    await mkdir(outDir, { recursive: true });
    const out = join(outDir, `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${arch}.deb`);
    await run('dpkg-deb', ['--root-owner-group', `-Z${spec.compression ?? 'gzip'}`, '--build', work, out]);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface RpmSpec {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  /** `x86_64` (default) or `noarch`. */
  arch?: string;
  requires?: string[];
  provides?: string[];
  /** rpm's `_binary_payload`, e.g. `w3.zstdio` (Fedora and openSUSE compress payloads with zstd). */
  payload?: string;
  files: PackageFiles;
}

/** Build a small binary .rpm with rpmbuild into `outDir`; returns its path. */
export async function buildRpm(spec: RpmSpec, outDir: string): Promise<string> {
  const arch = spec.arch ?? 'x86_64';
  const top = await mkdtemp(join(tmpdir(), 'bwrpm-'));
  try {
    const staged = join(top, 'stage');
    await mkdir(staged, { recursive: true });
    await stage(staged, spec.files);
    const specText = [
      `Name: ${spec.name}`,
      `Version: ${spec.version}`,
      `Release: ${spec.release ?? '1'}`,
      ...(spec.epoch !== undefined ? [`Epoch: ${spec.epoch}`] : []),
      'Summary: btfwatch test package',
      'License: MIT',
      `BuildArch: ${arch}`,
      'AutoReqProv: no',
      ...(spec.requires ?? []).map((r) => `Requires: ${r}`),
      ...(spec.provides ?? []).map((p) => `Provides: ${p}`),
      ...(spec.payload ? [`%define _binary_payload ${spec.payload}`] : []),
      '%define __os_install_post %{nil}',
      '%define debug_package %{nil}',
      '%define _build_id_links none',
      '%description',
      'Built by test/support/mirror-server for loopback mirror tests.',
      '%install',
      `cp -a ${staged}/. %{buildroot}/`,
      '%files',
      ...Object.keys(spec.files).map((p) => `"/${p}"`),
      '',
    ].join('\n');
    const specPath = join(top, `${spec.name}.spec`);
    await writeFile(specPath, specText);
    await run('rpmbuild', ['-bb', '--nodeps', '--define', `_topdir ${top}`, '--target', arch, specPath]);
    const rpmDir = join(top, 'RPMS', arch);
    const built = (await readdir(rpmDir)).filter((f) => f.endsWith('.rpm'));
    if (built.length !== 1 || !built[0]) throw new Error(`rpmbuild produced ${built.join(', ')}`);
    await mkdir(outDir, { recursive: true });
    const out = join(outDir, built[0]);
    await run('cp', [join(rpmDir, built[0]), out]);
    return out;
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}
