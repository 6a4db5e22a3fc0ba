import { readFile } from 'node:fs/promises';
import { release as unameRelease } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { Btf, openBtf, readBtfFromFile } from '@btfwatch/btf';
import {
  configFlags,
  parseKernelConfig,
  upstreamVersion,
  type FoundKernelVersion,
  type KernelConfigFlags,
  type KernelFacts,
} from '@btfwatch/compat';
import { HOST_FILES, kernelVersionOf, readBtfContainer } from './files.ts';

/** Where the facts of the booted kernel come from: the host, or files standing in for it. */
export interface BootedKernelSources {
  /** Its BTF: raw BTF, a vmlinux or a vmlinuz (default /sys/kernel/btf/vmlinux). */
  btf?: string | undefined;
  /** Its `uname -r` (default: this host's). */
  release?: string | undefined;
  /** Its .config (default /boot/config-<release>, else /proc/config.gz for the running kernel). */
  config?: string | undefined;
  /** Its upstream version X.Y.Z (default: the BTF file's banner, /proc/version, the config header). */
  kernelVersion?: string | undefined;
}

/** The booted kernel K, as far as guard knows it; every missing fact says why in `gaps`. */
export interface BootedKernel {
  release: string;
  btfPath: string;
  /** null: no BTF could be read (`btfProblem` says why). */
  btf: Btf | null;
  btfProblem: string | null;
  version: FoundKernelVersion | null;
  configPath: string | null;
  flags: KernelConfigFlags | null;
  /** Facts that are unknown, each with the reason, for the report. */
  gaps: string[];
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readConfig(
  given: string | undefined,
  release: string,
): Promise<{ path: string; text: string } | null> {
  if (given !== undefined) return { path: given, text: await readFile(given, 'utf8') };
  const boot = `/boot/config-${release}`;
  const text = await readOptional(boot);
  if (text) return { path: boot, text: text.toString('utf8') };
  // /proc/config.gz describes the running kernel only: it does not stand in for another release.
  if (release !== unameRelease()) return null;
  const gz = await readOptional('/proc/config.gz');
  return gz ? { path: '/proc/config.gz', text: gunzipSync(gz).toString('utf8') } : null;
}

interface KernelBtf {
  btf: Btf | null;
  /** What the file held (raw BTF, or a vmlinux whose banner names its version). */
  bytes: Uint8Array | null;
  problem: string | null;
}

async function readKernelBtf(path: string): Promise<KernelBtf> {
  let bytes: Uint8Array;
  try {
    bytes = await readBtfContainer(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `${path} does not exist`
        : code === 'EACCES'
          ? `${path} is not readable (run as root)`
          : `${path}: ${err instanceof Error ? err.message : String(err)}`;
    return { btf: null, bytes: null, problem };
  }
  try {
    const file = readBtfFromFile(bytes);
    if (file.looksSplit)
      return { btf: null, bytes, problem: `${path} holds split (module) BTF, not a kernel's` };
    return { btf: openBtf(file), bytes, problem: null };
  } catch (err) {
    return { btf: null, bytes, problem: `${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Reads the booted kernel's facts: BTF, release, config and upstream version. Nothing is guessed: a
 * fact that cannot be read is null and listed in `gaps`, and the verdicts then say unknown.
 */
export async function readBootedKernel(sources: BootedKernelSources = {}): Promise<BootedKernel> {
  const release = sources.release ?? unameRelease();
  const btfPath = sources.btf ?? HOST_FILES.btf;
  const gaps: string[] = [];
  const { btf, bytes, problem } = await readKernelBtf(btfPath);
  if (problem) gaps.push(`its BTF: ${problem}`);
  const config = await readConfig(sources.config, release);
  if (!config)
    gaps.push(
      `its config: no /boot/config-${release}${release === unameRelease() ? ' and no /proc/config.gz' : ''} (give --booted-config)`,
    );
  let version: FoundKernelVersion | null = null;
  if (sources.kernelVersion !== undefined)
    version = { version: sources.kernelVersion, how: '--booted-kernel-version' };
  else if (btf && bytes) version = await kernelVersionOf(btfPath, bytes);
  if (!version && config) {
    const fromConfig = upstreamVersion(config.text, '');
    if (fromConfig) version = { version: fromConfig, how: `the header of ${config.path}` };
  }
  if (!version && btf)
    gaps.push(
      `its upstream version: ${btfPath} carries none and is not this host's running kernel (give --booted-kernel-version X.Y.Z)`,
    );
  return {
    release,
    btfPath,
    btf,
    btfProblem: problem,
    version,
    configPath: config?.path ?? null,
    flags: config ? configFlags(parseKernelConfig(config.text)) : null,
    gaps,
  };
}

/**
 * K's facts for judgeModule. Offline, K's vermagic and exported symbol CRCs are not known (the host has
 * neither its vmlinux nor, reliably, its own Module.symvers), so the ABI verdict is unknown.
 */
export function kernelFacts(kernel: BootedKernel): KernelFacts {
  return {
    btf: {
      base: kernel.btf,
      baseSha256: kernel.btf?.sha256 ?? null,
      kernelVersion: kernel.version?.version ?? null,
      flags: kernel.flags,
    },
    abi: { vermagic: null, modversions: kernel.flags?.MODVERSIONS ?? false, exports: null },
  };
}
