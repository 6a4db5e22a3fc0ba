/**
 * Loopback apt + rpm mirror for tests: builds signed repository trees from package files at test time
 * and serves them on 127.0.0.1 with per-path fault injection and a request log. See README.md.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildAptTree, type AptSuiteSpec } from './apt-tree.ts';
import { createSigningKey, type SigningKey } from './gpg.ts';
import { buildRpmTree, type RpmRepoSpec } from './rpm-tree.ts';
import { MirrorServer, type Fault, type RequestRecord } from './server.ts';

export type { AptSuiteSpec } from './apt-tree.ts';
export type { RpmRepoSpec } from './rpm-tree.ts';
export type { Fault, RequestRecord } from './server.ts';
export type { SigningKey } from './gpg.ts';
export { createSigningKey } from './gpg.ts';
export { buildDeb, buildRpm, type DebSpec, type RpmSpec, type PackageFiles } from './packages.ts';
export { servePython, type PythonServer } from './python.ts';

export interface MirrorSpec {
  /** apt archive served at `<url>/debian/`. */
  apt?: { suites: Record<string, AptSuiteSpec> };
  /** rpm repository served at `<url>/rpm/`. */
  rpm?: RpmRepoSpec;
  /** Extra files served as they are: path relative to the server root → content. */
  files?: Record<string, string | Uint8Array>;
  /** Faults to install before the first request: path (relative to the server root, `*` globs) → fault. */
  faults?: Record<string, Fault>;
}

export interface MirrorHandle {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** apt archive root (pass as the scanner's `url`). */
  aptUrl: string;
  /** rpm repository root (the directory holding `repodata/`). */
  rpmUrl: string;
  /** Directory being served. */
  root: string;
  /** The throwaway key that signs everything; `publicKeyPath` is the keyring to trust. */
  key: SigningKey;
  /** Install (or with null remove) a fault for a path such as `/debian/dists/stable/InRelease`. */
  setFault(path: string, fault: Fault | null): void;
  clearFaults(): void;
  /** Every request so far, in arrival order (live array). */
  readonly requests: readonly RequestRecord[];
  clearRequests(): void;
  /** Highest number of requests in flight at once. */
  readonly maxInFlight: number;
  /** Rebuild the trees (re-signing them) from a new spec; parts left out stay as they are. */
  update(spec: Omit<MirrorSpec, 'faults'>): Promise<void>;
  /** Stop the server, its gpg-agent, and remove every file. */
  close(): Promise<void>;
}

export async function startMirror(spec: MirrorSpec = {}): Promise<MirrorHandle> {
  const root = await mkdtemp(join(tmpdir(), 'btfwatch-mirror-'));
  const key = await createSigningKey();
  const build = async (s: Omit<MirrorSpec, 'faults'>): Promise<void> => {
    if (s.apt) await buildAptTree(join(root, 'debian'), s.apt.suites, key);
    if (s.rpm) await buildRpmTree(join(root, 'rpm'), s.rpm, key);
    for (const [path, content] of Object.entries(s.files ?? {})) {
      const target = join(root, path.replace(/^\/+/, ''));
      if (!target.startsWith(`${root}/`)) throw new Error(`file outside the mirror root: ${path}`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  };
  let server: MirrorServer | undefined;
  try {
    await build(spec);
    server = new MirrorServer(root);
    const url = await server.listen();
    for (const [path, fault] of Object.entries(spec.faults ?? {})) server.setFault(path, fault);
    const s = server;
    return {
      url,
      aptUrl: `${url}/debian/`,
      rpmUrl: `${url}/rpm/`,
      root,
      key,
      setFault: (path, fault) => s.setFault(path, fault),
      clearFaults: () => s.clearFaults(),
      get requests() {
        return s.requests;
      },
      clearRequests() {
        s.requests.length = 0;
        s.maxInFlight = 0;
      },
      get maxInFlight() {
        return s.maxInFlight;
      },
      update: build,
      async close() {
        await s.close();
        await key.dispose();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.close();
    await key.dispose();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Serves a suite's InRelease with its signed text changed (the Date line) under the original signature:
 * what a tampered or corrupted index looks like to a verifier.
 */
export function tamperInRelease(mirror: MirrorHandle, suite: string): void {
  const inRelease = `/debian/dists/${suite}/InRelease`;
  const signed = readFileSync(join(mirror.root, inRelease), 'utf8');
  mirror.setFault(inRelease, {
    kind: 'replace',
    body: signed.replace(/^Date: .*$/m, 'Date: Thu, 01 Jan 2026 00:00:00 UTC'),
  });
}
