import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Btf, openBtf, readBtfFromFile } from '@btfwatch/btf';
import {
  btfAssessmentDeps,
  configFlags,
  judgeModule,
  parseKernelConfig,
  parseModuleSymvers,
  readModuleFacts,
  readVmlinuxExports,
  upstreamVersion,
  vermagicFromImage,
  type ExportedSymbol,
  type FoundKernelVersion,
  type KernelConfigFlags,
  type KernelFacts,
} from '@btfwatch/compat';
import { parse } from '../args.ts';
import { kernelVersionOf, readBtfContainer, vmlinuxBanner } from '../files.ts';
import { expandModuleArgs } from '../module-args.ts';
import { UsageError } from '../usage.ts';
import { checkWithApi } from './check-api.ts';

export const CHECK_USAGE = `btfwatch check --kernel FILE [--build-base FILE] [--config FILE] [--symvers FILE]
                [--kernel-version X.Y.Z] [--json] MODULE...
  Predict what kernel K (its BTF in FILE) does with each MODULE's BTF, offline: the verdict (identical,
  equivalent, relocated, rejected, corrupt, unverified, absent), whether the module loads, the lines K logs.
  Exit status 1 when any module is rejected or corrupt, 2 on a usage error.
  Reads:
  MODULE              .ko, .ko.xz, .ko.zst or .ko.gz: its .BTF, .BTF.base, vermagic, __versions CRCs
  --kernel FILE       K's BTF: a vmlinuz, a vmlinux, or raw BTF (/sys/kernel/btf/vmlinux, bpftool's .btf)
  --build-base FILE   the vmlinux (or its BTF) the modules were built against, to tell equivalent from
                      corrupt; without it, modules K accepts are unverified (or relocated with .BTF.base)
  --config FILE       K's .config: MODULE_ALLOW_BTF_MISMATCH (loads-without-btf vs fails),
                      DEBUG_INFO_BTF_MODULES, MODVERSIONS, and its version header
  --symvers FILE      K's Module.symvers, to check the modules' modversions CRCs (abi)
  --kernel-version V  K's upstream version (e.g. 6.1.192, not 6.1.0-56-amd64); which checks K runs depends
                      on it. When not given it is read, in this order, from the banner of a vmlinux/vmlinuz
                      FILE; when FILE is this host's running kernel BTF (/sys/kernel/btf/vmlinux, by path or
                      content), from /proc/version and /proc/version_signature; from the --config header.
                      Otherwise (raw BTF from another host) check stops and asks for it.
  MODULE may be a directory (e.g. /lib/modules/$(uname -r)): every module under it.
  --json              a JSON array, one object per module: file, module, verdict, load, abi, explanation, log
  --verbose           list every module; by default more than 20 are summed up, listing those needing attention
btfwatch check --api URL [--btf FILE] [--modules-dir DIR] [--all] [--package NAME [--version V]] [--json]
               [MODULE...]
  Ask a btfwatch service about this host: hashes the BTF in FILE (default /sys/kernel/btf/vmlinux; a vmlinux
  or vmlinuz works too) to find the booted kernel build, then uploads each MODULE (or directory of modules),
  or every module under DIR (default /lib/modules/$(uname -r)) outside its kernel/ tree (all of them with
  --all), or asks for the verdicts of package NAME.
  Environment: BTFWATCH_TOKEN  bearer token sent to the service (its read or admin token), if it needs one.`;

export interface CheckResult {
  file: string;
  module: string | null;
  verdict: string;
  load: string;
  abi: string;
  explanation: string;
  log: string[];
}

const BAD = new Set(['rejected', 'corrupt']);
/** Verdicts nothing needs to be done about: not listed one by one in long text reports. */
const FINE = new Set(['identical', 'equivalent', 'relocated']);
/** Above this many modules a text report lists only those needing attention, then the counts. */
const LIST_ALL_UP_TO = 20;

const tally = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
};

/**
 * Prints the results (JSON, or text), a summary line after several of them, and returns the exit status: 1 when
 * any module is rejected or corrupt. A long text report lists only the modules needing attention unless `verbose`.
 */
export function printResults(results: CheckResult[], json: boolean, verbose = false): number {
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    const all = verbose || results.length <= LIST_ALL_UP_TO;
    const out: string[] = [];
    let unlisted = 0;
    for (const r of results) {
      if (!all && FINE.has(r.verdict) && r.load === 'loads-with-btf') {
        unlisted++;
        continue;
      }
      out.push(`${r.file}: ${r.verdict} (${r.load}, abi ${r.abi})\n  ${r.explanation}\n`);
      for (const line of r.log) out.push(`  | ${line}\n`);
    }
    if (results.length > 1) {
      out.push(
        `${results.length} modules: ${tally(results.map((r) => r.verdict))}; load: ${tally(results.map((r) => r.load))}; abi: ${tally(results.map((r) => r.abi))}\n`,
      );
      if (unlisted)
        out.push(
          `${unlisted} of them keep their BTF and load with it (not listed; --verbose lists every module)\n`,
        );
    }
    process.stdout.write(out.join(''));
  }
  return results.some((r) => BAD.has(r.verdict)) ? 1 : 0;
}

async function baseFrom(path: string): Promise<{ btf: Btf; bytes: Uint8Array }> {
  const bytes = await readBtfContainer(path);
  const file = readBtfFromFile(bytes);
  if (file.looksSplit) throw new UsageError(`${path} holds split (module) BTF, not a kernel's base BTF`);
  return { btf: openBtf(file), bytes };
}

/**
 * K's upstream version decides which checks it runs on module BTF, so it is never guessed: given,
 * else the kernel file's own banner, else the running kernel when the file is its BTF, else the
 * config header; raw BTF from elsewhere needs --kernel-version.
 */
async function resolveKernelVersion(
  path: string,
  bytes: Uint8Array,
  given: string | undefined,
  configText: string | null,
): Promise<FoundKernelVersion> {
  if (given !== undefined) {
    if (!/^\d+\.\d+(\.\d+)?$/.test(given))
      throw new UsageError(
        `--kernel-version ${JSON.stringify(given)}: give the upstream version X.Y.Z (e.g. 6.1.192), not a release name`,
      );
    return { version: given, how: '--kernel-version' };
  }
  const found = await kernelVersionOf(path, bytes);
  if (found) return found;
  const fromConfig = configText ? upstreamVersion(configText, '') : null;
  if (fromConfig) return { version: fromConfig, how: 'the --config header' };
  throw new UsageError(
    `cannot tell which kernel version ${path} is from (raw BTF carries no version, and it is not this host's running kernel): ` +
      'give --kernel-version X.Y.Z (its upstream version, e.g. from the package version 6.1.192-2, or /proc/version on that host), or --config with its .config',
  );
}

export async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parse('check', argv, {
    kernel: { type: 'string' },
    'build-base': { type: 'string' },
    config: { type: 'string' },
    symvers: { type: 'string' },
    'kernel-version': { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    api: { type: 'string' },
    btf: { type: 'string' },
    'modules-dir': { type: 'string' },
    all: { type: 'boolean' },
    package: { type: 'string' },
    version: { type: 'string' },
  });
  if (values.api) return checkWithApi(values.api, values, positionals);
  if (!values.kernel || positionals.length === 0) throw new UsageError(`usage: ${CHECK_USAGE}`);

  const kernel = await baseFrom(values.kernel);
  const configText = values.config ? await readFile(values.config, 'utf8') : null;
  const version = await resolveKernelVersion(
    values.kernel,
    kernel.bytes,
    values['kernel-version'],
    configText,
  );
  if (values['kernel-version'] === undefined)
    process.stderr.write(`kernel version ${version.version} (from ${version.how})\n`);
  const kernelVersion = version.version;
  const buildBase = values['build-base'] ? await baseFrom(values['build-base']) : null;
  const flags: KernelConfigFlags | null = configText ? configFlags(parseKernelConfig(configText)) : null;
  const symvers = values.symvers ? parseModuleSymvers(await readFile(values.symvers, 'utf8')) : null;
  const image = imageAbi(kernel.bytes);
  const deps = btfAssessmentDeps();
  const kernelFacts: KernelFacts = {
    btf: { base: kernel.btf, baseSha256: kernel.btf.sha256, kernelVersion, flags },
    abi: symvers
      ? {
          // Without a vmlinux the kernel's vermagic is not known: each module's own stands in for it (below)
          // and only the CRCs are compared (the release word is skipped for modules with CRCs anyway).
          vermagic: image.vermagic,
          modversions: flags ? flags.MODVERSIONS : null,
          exports: symvers,
          exportsComplete: true,
        }
      : {
          vermagic: image.vermagic,
          modversions: flags ? flags.MODVERSIONS : null,
          exports: image.exports,
          exportsComplete: false,
          unknownWhy: image.exports
            ? "only the vmlinux's own exports are known (read from --kernel); --symvers gives every module's"
            : "no --symvers given: the kernel's Module.symvers, from its headers package",
        },
  };
  const given = buildBase
    ? { btf: buildBase.btf, sha256: buildBase.btf.sha256, how: 'given', claimed: true }
    : null;

  const results: CheckResult[] = [];
  for (const path of await expandModuleArgs(positionals)) {
    const facts = readModuleFacts(path, await readBtfContainer(path));
    const abi = {
      ...kernelFacts.abi,
      vermagic: kernelFacts.abi.vermagic ?? (symvers ? facts.vermagic : null),
    };
    const judged = judgeModule({ ...facts, buildBase: given }, { ...kernelFacts, abi }, deps);
    results.push({
      file: basename(path),
      module: facts.name,
      verdict: judged.btf,
      load: judged.load,
      abi: judged.abi,
      explanation: judged.explanation,
      log: [...judged.assessment.kernelLog, ...judged.assessment.onceLog],
    });
  }
  return printResults(results, values.json === true, values.verbose === true);
}

/** What a vmlinux (not raw BTF) says of its ABI: the symbols it exports with their CRCs, its vermagic. */
function imageAbi(bytes: Uint8Array): {
  exports: Map<string, ExportedSymbol> | null;
  vermagic: string | null;
} {
  if (readBtfFromFile(bytes).format !== 'elf') return { exports: null, vermagic: null };
  const exported = readVmlinuxExports(bytes);
  const release = /^Linux version (\S+)/.exec(vmlinuxBanner(bytes) ?? '')?.[1];
  return {
    exports: exported
      ? new Map(
          exported.map((e) => [
            e.symbol,
            { crc: e.crc, module: 'vmlinux', exportType: e.exportType, namespace: '' },
          ]),
        )
      : null,
    vermagic: release ? vermagicFromImage(bytes, release) : null,
  };
}
