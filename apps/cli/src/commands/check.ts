import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Btf, openBtf, readBtfFromFile } from '@btfwatch/btf';
import {
  assessBtf,
  checkAbi,
  configFlags,
  parseKernelConfig,
  parseModuleSymvers,
  predictLoad,
  readModuleFacts,
  type KernelConfigFlags,
} from '@btfwatch/compat';
import { btfAssessmentDeps } from '@btfwatch/worker';
import { parse } from '../args.ts';
import { bannerVersion, readBtfContainer } from '../files.ts';
import { UsageError } from '../runtime.ts';
import { checkWithApi } from './check-api.ts';

export const CHECK_USAGE = `btfwatch check --kernel FILE [--build-base FILE] [--config FILE] [--symvers FILE]
                [--kernel-version X.Y.Z] [--json] MODULE...
  Predict what the kernel whose BTF is in FILE (vmlinuz, vmlinux, or /sys/kernel/btf/vmlinux) does with
  each module's BTF. Exit status 1 when any module is rejected or corrupt.
  --build-base FILE   the vmlinux (or its BTF) the modules were built against, to tell equivalent from corrupt
  --config FILE       the kernel's .config (MODULE_ALLOW_BTF_MISMATCH decides loads-without-btf vs fails)
  --symvers FILE      the kernel's Module.symvers, to check modversions CRCs
  --kernel-version V  upstream version of the kernel (default: the vmlinux banner)
btfwatch check --api URL [--btf FILE] [--modules-dir DIR] [--all] [--package NAME [--version V]] [--json]
  Ask a btfwatch service about this host: hashes /sys/kernel/btf/vmlinux, finds the kernel build, and checks
  the modules installed outside the kernel's own tree (all with --all), or a package's modules.`;

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

export function printResults(results: CheckResult[], json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results) {
      process.stdout.write(`${r.file}: ${r.verdict} (${r.load}, abi ${r.abi})\n  ${r.explanation}\n`);
      for (const line of r.log) process.stdout.write(`  | ${line}\n`);
    }
  }
  return results.some((r) => BAD.has(r.verdict)) ? 1 : 0;
}

async function baseFrom(path: string): Promise<{ btf: Btf; bytes: Uint8Array }> {
  const bytes = await readBtfContainer(path);
  const file = readBtfFromFile(bytes);
  if (file.looksSplit) throw new UsageError(`${path} holds split (module) BTF, not a kernel's base BTF`);
  return { btf: openBtf(file), bytes };
}

export async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parse('check', argv, {
    kernel: { type: 'string' },
    'build-base': { type: 'string' },
    config: { type: 'string' },
    symvers: { type: 'string' },
    'kernel-version': { type: 'string' },
    json: { type: 'boolean' },
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
  const kernelVersion = values['kernel-version'] ?? bannerVersion(kernel.bytes);
  const buildBase = values['build-base'] ? await baseFrom(values['build-base']) : null;
  const flags: KernelConfigFlags | null = values.config
    ? configFlags(parseKernelConfig(await readFile(values.config, 'utf8')))
    : null;
  const exports = values.symvers ? parseModuleSymvers(await readFile(values.symvers, 'utf8')) : null;
  const deps = btfAssessmentDeps();
  const side = { base: kernel.btf, baseSha256: kernel.btf.sha256, kernelVersion, flags };

  const results: CheckResult[] = [];
  for (const path of positionals) {
    const facts = readModuleFacts(path, await readBtfContainer(path));
    const btf = assessBtf(
      {
        name: facts.name,
        btf: facts.btf,
        btfBase: facts.btfBase,
        buildBase: buildBase ? { btf: buildBase.btf, sha256: buildBase.btf.sha256, how: 'given' } : null,
      },
      side,
      deps,
    );
    const abi = checkAbi(
      { vermagic: facts.vermagic, importedCrcs: facts.importedCrcs },
      // Without the kernel's vermagic only CRCs can be compared; the module's own vermagic stands in for it.
      {
        vermagic: exports ? facts.vermagic : null,
        modversions: flags?.MODVERSIONS ?? exports !== null,
        exports,
      },
    );
    const load = predictLoad(btf.btf, abi, flags);
    results.push({
      file: basename(path),
      module: facts.name,
      verdict: btf.btf,
      load: load.load,
      abi: abi.abi,
      explanation: `${btf.explanation}; ${load.reason}`,
      log: [...btf.kernelLog, ...btf.onceLog],
    });
  }
  return printResults(results, values.json === true);
}
