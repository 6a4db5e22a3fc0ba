import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join, relative } from 'node:path';
import { request } from 'undici';
import { UsageError } from '../runtime.ts';
import { printResults, type CheckResult } from './check.ts';

interface ApiOptions {
  btf?: string | undefined;
  'modules-dir'?: string | undefined;
  all?: boolean | undefined;
  package?: string | undefined;
  version?: string | undefined;
  json?: boolean | undefined;
}

async function api<T>(
  base: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: Uint8Array } = {},
): Promise<T> {
  const token = process.env.BTFWATCH_TOKEN;
  const res = await request(new URL(path, base), {
    method: init.method ?? 'GET',
    ...(init.body ? { body: init.body } : {}),
    headers: {
      ...(init.body ? { 'content-type': 'application/octet-stream' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    headersTimeout: 60_000,
    bodyTimeout: 120_000,
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message: string }).message;
    } catch {
      // not JSON: print the body as is
    }
    throw new UsageError(`${path.split('?')[0]}: HTTP ${res.statusCode}: ${message}`);
  }
  return JSON.parse(text) as T;
}

async function* moduleFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* moduleFiles(path);
    else if (/\.ko(\.(xz|zst|gz))?$/.test(entry.name)) yield path;
  }
}

interface Verdict {
  module: { name: string; path: string; package: string; version: string };
  btf: string;
  load: string;
  abi: string;
  explanation: string;
  evidence: { kernelLog?: string[]; onceLog?: string[] };
}

/** The host side: identify the booted kernel by its BTF hash, then ask about its modules. */
export async function checkWithApi(base: string, values: ApiOptions, positionals: string[]): Promise<number> {
  const btfPath = values.btf ?? '/sys/kernel/btf/vmlinux';
  const sha = createHash('sha256')
    .update(await readFile(btfPath))
    .digest('hex');
  const kernels = await api<{ items: Array<{ id: number; release: string; version: string }> }>(
    base,
    `/v1/kernels/by-btf/${sha}`,
  );
  const kernel = kernels.items[0]!;
  process.stderr.write(
    `booted kernel: build ${kernel.id}, ${kernel.release} ${kernel.version} (base BTF ${sha.slice(0, 12)}…)\n`,
  );

  const results: CheckResult[] = [];
  if (values.package) {
    const q = new URLSearchParams({ kernel: String(kernel.id), package: values.package, limit: '1000' });
    if (values.version) q.set('version', values.version);
    const res = await api<{ items: Verdict[] }>(base, `/v1/compat?${q}`);
    for (const v of res.items) {
      results.push({
        file: v.module.path,
        module: v.module.name,
        verdict: v.btf,
        load: v.load,
        abi: v.abi,
        explanation: v.explanation,
        log: [...(v.evidence.kernelLog ?? []), ...(v.evidence.onceLog ?? [])],
      });
    }
    return printResults(results, values.json === true);
  }

  const dir = values['modules-dir'] ?? `/lib/modules/${release()}`;
  const files = positionals.length ? positionals : [];
  if (!positionals.length) {
    for await (const path of moduleFiles(dir)) {
      // In-tree modules come from the kernel build itself; the ones that matter live elsewhere (updates/, extra/).
      if (values.all || !relative(dir, path).startsWith('kernel/')) files.push(path);
    }
  }
  for (const path of files) {
    const q = new URLSearchParams({ kernel: String(kernel.id), name: path.slice(path.lastIndexOf('/') + 1) });
    const v = await api<Verdict & { module: { name: string | null } }>(base, `/v1/compat/check?${q}`, {
      method: 'POST',
      body: await readFile(path),
    });
    results.push({
      file: path,
      module: v.module.name,
      verdict: v.btf,
      load: v.load,
      abi: v.abi,
      explanation: v.explanation,
      log: [...(v.evidence.kernelLog ?? []), ...(v.evidence.onceLog ?? [])],
    });
  }
  if (results.length === 0)
    process.stderr.write(`no out-of-tree modules under ${dir} (use --all for every module)\n`);
  return printResults(results, values.json === true);
}
