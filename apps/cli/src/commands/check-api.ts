import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { relative } from 'node:path';
import { readBtfFromFile } from '@btfwatch/btf';
import { readBtfContainer } from '../files.ts';
import { expandModuleArgs, moduleFiles } from '../module-args.ts';
import { request } from 'undici';
import { UsageError } from '../usage.ts';
import { printResults, type CheckResult } from './check.ts';

interface ApiOptions {
  btf?: string | undefined;
  'modules-dir'?: string | undefined;
  all?: boolean | undefined;
  package?: string | undefined;
  version?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** A 4xx/5xx answer of the service, with its stable error code. */
class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Items the CLI asks for per page (the API's maximum); BTFWATCH_PAGE_SIZE lowers it, e.g. behind small proxies. */
function pageSize(): number {
  const raw = process.env.BTFWATCH_PAGE_SIZE;
  if (raw === undefined || raw === '') return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(
      `invalid BTFWATCH_PAGE_SIZE: expected an integer from 1 to 1000, got ${JSON.stringify(raw)}`,
    );
  return n;
}

async function api<T>(
  base: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: Uint8Array } = {},
): Promise<T> {
  // Services that gate reads with BTFWATCH_READ_TOKEN want it (or the admin token) as a bearer token.
  const token = process.env.BTFWATCH_TOKEN;
  let res;
  try {
    res = await request(new URL(path, base), {
      method: init.method ?? 'GET',
      ...(init.body ? { body: init.body } : {}),
      headers: {
        ...(init.body ? { 'content-type': 'application/octet-stream' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      headersTimeout: 60_000,
      bodyTimeout: 120_000,
    });
  } catch (err) {
    throw new UsageError(`cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    let message = text.trim().slice(0, 500);
    let code: string | undefined;
    try {
      const body = JSON.parse(text) as { message: string; error?: string };
      message = body.message;
      code = body.error;
    } catch {
      // not JSON: keep the body as is
    }
    if (res.statusCode === 401)
      throw new UsageError(
        token
          ? `${base} refused BTFWATCH_TOKEN (HTTP 401: ${message}); set it to the service's read or admin token`
          : `${base} needs a token for reads (HTTP 401): set BTFWATCH_TOKEN to its read token`,
      );
    throw new ServiceError(res.statusCode, code, `${path.split('?')[0]}: HTTP ${res.statusCode}: ${message}`);
  }
  return JSON.parse(text) as T;
}

interface Verdict {
  module: { name: string; path: string; package: string; version: string };
  btf: string;
  load: string;
  abi: string;
  explanation: string;
  evidence: { kernelLog?: string[]; onceLog?: string[] };
}

const toResult = (file: string, module: string | null, v: Verdict): CheckResult => ({
  file,
  module,
  verdict: v.btf,
  load: v.load,
  abi: v.abi,
  explanation: v.explanation,
  log: [...(v.evidence.kernelLog ?? []), ...(v.evidence.onceLog ?? [])],
});

/**
 * The sha256 of the kernel's vmlinux BTF, which names its build: of the file itself for raw BTF
 * (/sys/kernel/btf/vmlinux), of its .BTF for a vmlinux or vmlinuz.
 */
async function baseBtfSha256(path: string): Promise<string> {
  const file = readBtfFromFile(await readBtfContainer(path));
  if (file.looksSplit) throw new UsageError(`${path} holds a module's split BTF, not a kernel's base BTF`);
  return createHash('sha256').update(file.btf).digest('hex');
}

async function bootedKernel(base: string, btfPath: string) {
  const sha = await baseBtfSha256(btfPath);
  try {
    const kernels = await api<{ items: Array<{ id: number; release: string; version: string }> }>(
      base,
      `/v1/kernels/by-btf/${sha}`,
    );
    return { sha, kernel: kernels.items[0]! };
  } catch (err) {
    if (err instanceof ServiceError && err.status === 404)
      throw new UsageError(
        `no kernel build with base BTF ${sha} (sha256 of ${btfPath}) is known to ${base}: ` +
          "add and scan a mirror that carries this kernel's image package (POST /v1/mirrors, then /v1/mirrors/{id}/scan), " +
          `or check without the service: btfwatch check --kernel ${btfPath} MODULE...`,
      );
    throw err;
  }
}

/** Every verdict of a package's modules on the kernel, page by page (a full image has ~4,000 modules). */
async function packageVerdicts(base: string, kernelId: number, values: ApiOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({
      kernel: String(kernelId),
      package: values.package!,
      limit: String(pageSize()),
    });
    if (values.version) q.set('version', values.version);
    if (cursor) q.set('cursor', cursor);
    let page: { items: Verdict[]; nextCursor: string | null };
    try {
      page = await api<typeof page>(base, `/v1/compat?${q}`);
    } catch (err) {
      if (err instanceof ServiceError && err.status === 404 && err.code === 'NOT_FOUND')
        throw new UsageError(
          `${base} knows no module builds of package ${values.package}${values.version ? ` ${values.version}` : ''}`,
        );
      throw err;
    }
    for (const v of page.items) results.push(toResult(v.module.path, v.module.name, v));
    cursor = page.nextCursor;
    if (cursor !== null && seen.has(cursor)) throw new UsageError(`${base} returned cursor ${cursor} twice`);
    if (cursor !== null) seen.add(cursor);
  } while (cursor !== null);
  return results;
}

/** The host side: identify the booted kernel by its BTF hash, then ask about its modules. */
export async function checkWithApi(base: string, values: ApiOptions, positionals: string[]): Promise<number> {
  const btfPath = values.btf ?? '/sys/kernel/btf/vmlinux';
  const { sha, kernel } = await bootedKernel(base, btfPath);
  process.stderr.write(
    `booted kernel: build ${kernel.id}, ${kernel.release} ${kernel.version} (base BTF ${sha.slice(0, 12)}…)\n`,
  );

  if (values.package)
    return printResults(
      await packageVerdicts(base, kernel.id, values),
      values.json === true,
      values.verbose === true,
    );

  const dir = values['modules-dir'] ?? `/lib/modules/${release()}`;
  const files = positionals.length ? await expandModuleArgs(positionals) : [];
  if (!positionals.length) {
    for await (const path of moduleFiles(dir)) {
      // In-tree modules come from the kernel build itself; the ones that matter live elsewhere (updates/, extra/).
      if (values.all || !relative(dir, path).startsWith('kernel/')) files.push(path);
    }
  }
  const results: CheckResult[] = [];
  // One module that cannot be read or is refused must not hide the verdicts of the others.
  const failed: Array<{ file: string; error: string }> = [];
  for (const path of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      failed.push({ file: path, error: `cannot read: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    const q = new URLSearchParams({ kernel: String(kernel.id), name: path.slice(path.lastIndexOf('/') + 1) });
    try {
      const v = await api<Verdict & { module: { name: string | null } }>(base, `/v1/compat/check?${q}`, {
        method: 'POST',
        body: bytes,
      });
      results.push(toResult(path, v.module.name, v));
    } catch (err) {
      // The module's own fault (not a module, too large): report it and go on; anything else stops the run.
      if (err instanceof ServiceError && (err.status === 400 || err.status === 413)) {
        failed.push({ file: path, error: err.message });
        continue;
      }
      throw err;
    }
  }
  if (results.length === 0 && failed.length === 0)
    process.stderr.write(`no out-of-tree modules under ${dir} (use --all for every module)\n`);
  const code = printResults(results, values.json === true, values.verbose === true);
  for (const f of failed) process.stderr.write(`btfwatch: ${f.file}: error: ${f.error}\n`);
  if (failed.length > 0) {
    process.stderr.write(`btfwatch: ${failed.length} of ${files.length} module files could not be checked\n`);
    return Math.max(code, 1);
  }
  return code;
}
