import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { AbiVerdict, BtfVerdict, LoadVerdict } from '@btfwatch/compat';
import { readDeb, readRpm, type PickedFile } from '@btfwatch/pkg';
import { eventLinks } from '@btfwatch/webhooks';
import { moduleOutcome, type ModuleVerdict } from './guard-decision.ts';
import type { PackageReport } from './guard-run.ts';

/** What a btfwatch service (--api URL) said about the booted kernel and the packages. */
export interface ServiceFindings {
  url: string;
  /** The kernel build the service knows by the booted kernel's BTF hash; null when it knows none. */
  kernel: { id: number; release: string; version: string; link: string } | null;
  packages: ServicePackage[];
  /** The service's verdicts, by module path (source `service`). */
  verdicts: ModuleVerdict[];
  /** Why the service could not answer (unreachable, refused, unknown kernel); null when it did. */
  problem: string | null;
}

export interface ServicePackage {
  name: string;
  version: string;
  /** Whether the service has ingested this package (from a mirror it scans). */
  known: boolean;
  /** Verdicts the service gave (all of the package's modules when known, else the uploaded sample). */
  verdicts: number;
  /** Modules uploaded to POST /v1/compat/check because the service did not know the package. */
  uploaded: number;
  link: string | null;
  note: string;
}

interface ServiceVerdict {
  module: { name: string | null; path?: string };
  btf: BtfVerdict;
  load: LoadVerdict;
  loadReason?: string | null;
  abi: AbiVerdict;
  explanation: string;
  evidence: { kernelLog?: string[]; onceLog?: string[] };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A package's modules uploaded when the service has not seen it: enough to learn its ABI verdicts. */
const UPLOAD_SAMPLE = 3;
const PAGE = 1000;

async function call<T>(base: string, path: string, body?: Uint8Array): Promise<T> {
  const token = process.env.BTFWATCH_TOKEN;
  let res;
  try {
    res = await request(new URL(path, base), {
      method: body ? 'POST' : 'GET',
      ...(body ? { body } : {}),
      headers: {
        ...(body ? { 'content-type': 'application/octet-stream' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
    });
  } catch (err) {
    throw new HttpError(
      0,
      undefined,
      `cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    let message = text.trim().slice(0, 300);
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as { message?: string; error?: string };
      message = parsed.message ?? message;
      code = parsed.error;
    } catch {
      // not JSON: keep the text
    }
    throw new HttpError(res.statusCode, code, `${path.split('?')[0]}: HTTP ${res.statusCode}: ${message}`);
  }
  return JSON.parse(text) as T;
}

function toVerdict(pkg: string, path: string, v: ServiceVerdict): ModuleVerdict {
  return {
    package: pkg,
    path,
    module: v.module.name ?? path.slice(path.lastIndexOf('/') + 1),
    btf: v.btf,
    load: v.load,
    abi: v.abi,
    explanation: v.explanation,
    loadReason: v.loadReason ?? '',
    log: [...(v.evidence.kernelLog ?? []), ...(v.evidence.onceLog ?? [])],
    outcome: moduleOutcome(v),
    source: 'service',
  };
}

async function packageVerdicts(base: string, kernelId: number, name: string, version: string) {
  const items: ServiceVerdict[] = [];
  let cursor: string | null = null;
  const seen = new Set<string>();
  do {
    const q = new URLSearchParams({ kernel: String(kernelId), package: name, version, limit: String(PAGE) });
    if (cursor) q.set('cursor', cursor);
    const page: { items: ServiceVerdict[]; nextCursor: string | null } = await call(base, `/v1/compat?${q}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor !== null && seen.has(cursor))
      throw new HttpError(0, undefined, `${base} returned cursor ${cursor} twice`);
    if (cursor !== null) seen.add(cursor);
  } while (cursor !== null);
  return items;
}

/** Up to UPLOAD_SAMPLE module files of each offline verdict group: one upload answers for its like. */
function sample(offline: ModuleVerdict[]): ModuleVerdict[] {
  const groups = new Map<string, ModuleVerdict[]>();
  for (const v of offline) {
    const key = `${v.btf}/${v.load}`;
    const list = groups.get(key) ?? [];
    if (list.length < UPLOAD_SAMPLE) list.push(v);
    groups.set(key, list);
  }
  return [...groups.values()].flat();
}

/** The chosen module files as the package holds them (the service takes .ko and compressed .ko alike). */
async function moduleFiles(pkgFile: string, format: 'deb' | 'rpm', paths: Set<string>) {
  // Guard keeps only the modules' facts; a second read of the package for a handful of files is bounded.
  const found = new Map<string, Uint8Array>();
  const options = {
    select: (path: string) => paths.has(path),
    onFile: async (f: PickedFile) => {
      found.set(f.path, await f.read());
    },
  };
  if (format === 'deb') await readDeb(createReadStream(pkgFile), options);
  else await readRpm(createReadStream(pkgFile), options);
  return found;
}

/**
 * Asks the service what it knows: the booted kernel by its BTF hash (GET /v1/kernels/by-btf), then per
 * judged package its verdicts on that kernel (GET /v1/compat) or, for a package it has not seen, a sample
 * of its modules uploaded (POST /v1/compat/check). Failures are findings, never a crash: the guard goes on
 * with its offline verdicts.
 */
export async function askService(
  url: string,
  btfPath: string,
  packages: PackageReport[],
  offline: ModuleVerdict[],
): Promise<ServiceFindings> {
  const findings: ServiceFindings = { url, kernel: null, packages: [], verdicts: [], problem: null };
  try {
    const sha = createHash('sha256')
      .update(await readFile(btfPath))
      .digest('hex');
    let kernels: { items: Array<{ id: number; release: string; version: string }> };
    try {
      kernels = await call(url, `/v1/kernels/by-btf/${sha}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) {
        findings.problem = `the service knows no kernel build with base BTF ${sha} (the sha256 of ${btfPath}): scan a mirror that carries it`;
        return findings;
      }
      throw err;
    }
    const kernel = kernels.items[0];
    if (!kernel) {
      findings.problem = `the service knows no kernel build with base BTF ${sha}`;
      return findings;
    }
    const links = eventLinks(url.replace(/\/+$/, ''), kernel.id);
    findings.kernel = { ...kernel, link: links.kernel.dashboard };
    for (const p of packages) {
      if (p.status !== 'judged' || !p.name || !p.version) continue;
      const label = `${p.name} ${p.version}`;
      const link = links.package(p.name, p.version).dashboard;
      try {
        const items = await packageVerdicts(url, kernel.id, p.name, p.version);
        findings.verdicts.push(...items.map((v) => toVerdict(label, v.module.path ?? '', v)));
        findings.packages.push({
          name: p.name,
          version: p.version,
          known: true,
          verdicts: items.length,
          uploaded: 0,
          link,
          note: `${items.length} verdicts from the service`,
        });
        continue;
      } catch (err) {
        if (!(err instanceof HttpError && err.status === 404 && err.code === 'NOT_FOUND')) throw err;
      }
      const chosen = sample(offline.filter((v) => v.package === label));
      const files = p.format
        ? await moduleFiles(p.file, p.format, new Set(chosen.map((v) => v.path)))
        : new Map();
      let uploaded = 0;
      for (const v of chosen) {
        const bytes = files.get(v.path);
        if (!bytes) continue;
        const q = new URLSearchParams({
          kernel: String(kernel.id),
          name: v.path.slice(v.path.lastIndexOf('/') + 1),
        });
        const answer: ServiceVerdict = await call(url, `/v1/compat/check?${q}`, bytes);
        findings.verdicts.push(toVerdict(label, v.path, answer));
        uploaded++;
      }
      findings.packages.push({
        name: p.name,
        version: p.version,
        known: false,
        verdicts: uploaded,
        uploaded,
        link: null,
        note: `not known to the service (no mirror it scans carries it); ${uploaded} sample modules uploaded`,
      });
    }
  } catch (err) {
    findings.problem = err instanceof Error ? err.message : String(err);
  }
  return findings;
}
