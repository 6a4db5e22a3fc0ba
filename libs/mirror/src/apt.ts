import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { aptRoleFromName, roleFromSignals, type FileSignals, type Role } from './classify.ts';
import { scanContents, type ContentsScan } from './contents.ts';
import { openDecompressed } from './decompress.ts';
import { createDownloader, type DownloadedFile, type Downloader } from './downloader.ts';
import { MirrorConfigError, MirrorNotFoundError, MirrorSignatureError, MirrorStaleError } from './errors.ts';
import { compileMatch } from './glob.ts';
import { DEBIAN_ARCHIVE_KEYRING, loadKeyring, type KeySource, type Keyring } from './keyring.ts';
import { readParagraphs, toAptPackage } from './packages.ts';
import { parseRelease, type AptRelease, type ReleaseFile } from './release.ts';
import { unverifiedCleartext, verifyCleartext, verifyDetached } from './signature.ts';
import {
  toKnownSet,
  type Candidate,
  type ConditionalState,
  type KnownSet,
  type SignatureReport,
} from './types.ts';

export interface AptMirrorConfig {
  /** Archive root, the directory holding `dists/` and `pool/` (e.g. `http://<mirror>/debian-security`). */
  url: string;
  suite: string;
  /** Default: every component the Release lists. */
  components?: readonly string[];
  /** Default: every architecture the Release lists except `all` (added when the suite keeps it apart). */
  architectures?: readonly string[];
  /** Package-name globs; only matching packages become candidates. */
  match?: string | readonly string[];
  /** Trusted keys. Default: Debian's archive keyring, read from disk at scan time. */
  keyring?: KeySource | readonly KeySource[] | Keyring;
  /** Skip all signature checks. Reported in the result. */
  insecure?: boolean;
  /** Refuse a Release past its Valid-Until (as apt does). Default true. */
  checkValidUntil?: boolean;
  /** Use Contents files to find kernel packages. Default true; false selects by name only. */
  useContents?: boolean;
}

/** What the scanner needs from the previous successful scan of the same config; plain JSON. */
export interface AptScanState {
  /** Identifies the config the state belongs to; state from another config is ignored. */
  configKey?: string;
  release?: ConditionalState & { file: 'InRelease' | 'Release'; date?: string | undefined };
  /** Index path (relative to `dists/<suite>/`) → sha256 of the file last processed. */
  indexes?: Record<string, string>;
}

export interface AptScanInput extends AptScanState {
  knownSha256?: KnownSet;
}

export interface ScanDeps {
  downloader?: Downloader;
  /** Where index files are staged while parsed (removed afterwards). */
  dir?: string;
  now?: () => Date;
  signal?: AbortSignal;
  /** Largest decompressed size of one index (Packages, Contents, primary, filelists). Default 4 GiB. */
  maxIndexBytes?: number;
}

export interface AptIndexUnit {
  component: string;
  arch: string;
  /** false: both indexes hash as last time, so this unit was not fetched and lists no packages. */
  changed: boolean;
  packagesIndex: ReleaseFile;
  contentsIndex: ReleaseFile | undefined;
  /** How candidates were picked; `name` when Contents is missing, empty, or switched off. */
  selection: 'contents' | 'name';
}

export interface AptSuiteInfo {
  origin: string | undefined;
  label: string | undefined;
  suite: string | undefined;
  codename: string | undefined;
  version: string | undefined;
  date: string | undefined;
  validUntil: string | undefined;
  architectures: string[];
  components: string[];
  acquireByHash: boolean;
}

export type AptScanResult =
  | {
      kind: 'apt';
      changed: false;
      url: string;
      suite: string;
      insecure: boolean;
      /** The Release/InRelease answered 304 or hashed as last time; nothing else was requested. */
      reason: 'not-modified' | 'same-hash';
      warnings: string[];
      state: AptScanState;
    }
  | {
      kind: 'apt';
      changed: true;
      url: string;
      suite: string;
      insecure: boolean;
      release: AptSuiteInfo;
      signature: SignatureReport;
      units: AptIndexUnit[];
      packages: Candidate[];
      warnings: string[];
      state: AptScanState;
    };

interface ReleaseFetch {
  file: 'InRelease' | 'Release';
  text: string;
  signature: SignatureReport;
  validators: ConditionalState;
}

/**
 * Scan one apt suite: verified InRelease (or Release + Release.gpg), then per component and architecture
 * the Packages index and Contents, returning the kernel-related packages. Returns `changed: false` after a
 * single request when the Release is unchanged. The returned `state` is to be stored only after the caller
 * has also handled the result.
 */
export async function scanApt(
  config: AptMirrorConfig,
  input: AptScanInput = {},
  deps: ScanDeps = {},
): Promise<AptScanResult> {
  const base = archiveRoot(config.url);
  const insecure = config.insecure === true;
  const configKey = aptConfigKey(config);
  const state: AptScanState = input.configKey === configKey ? input : {};
  const matches = compileMatch(config.match);
  const known = toKnownSet(input.knownSha256);
  const now = deps.now?.() ?? new Date();
  // Load keys before any request so a broken keyring fails fast and costs the mirror nothing.
  const keyring = insecure ? undefined : await resolveKeyring(config.keyring);
  const downloader = deps.downloader ?? createDownloader();
  const warnings: string[] = [];
  try {
    const dist = new URL(`dists/${encodeURI(config.suite)}/`, base).toString();
    const fetched = await fetchRelease(downloader, dist, state, keyring, deps.signal);
    if ('unchanged' in fetched) {
      return {
        kind: 'apt',
        changed: false,
        url: base,
        suite: config.suite,
        insecure,
        reason: fetched.unchanged,
        warnings,
        state: { ...stripKnown(state), configKey, release: fetched.release },
      };
    }
    const release = parseRelease(fetched.text, `${dist}${fetched.file}`);
    checkRelease(release, config, state, now, dist);

    const units = planUnits(release, config, warnings);
    const indexes: Record<string, string> = {};
    const contentsCache = new Map<string, Promise<ContentsScan | undefined>>();
    const packages: Candidate[] = [];
    const seen = new Set<string>();
    const scannedUnits: AptIndexUnit[] = [];
    for (const unit of units) {
      const p = unit.packages[0] as ReleaseFile;
      const c = unit.contents[0];
      indexes[p.path] = p.sha256;
      if (c) indexes[c.path] = c.sha256;
      const unchanged =
        state.indexes?.[p.path] === p.sha256 && (c === undefined || state.indexes?.[c.path] === c.sha256);
      if (unchanged) {
        scannedUnits.push({
          component: unit.component,
          arch: unit.arch,
          changed: false,
          packagesIndex: p,
          contentsIndex: c,
          selection: c && !unit.contentsEmpty ? 'contents' : 'name',
        });
        continue;
      }
      let contents: ContentsScan | undefined;
      if (c && !unit.contentsEmpty) {
        let pending = contentsCache.get(c.path);
        if (!pending) {
          pending = fetchAndParse(downloader, dist, unit.contents, release.acquireByHash, deps, (s, label) =>
            scanContents(s, label),
          );
          contentsCache.set(c.path, pending);
        }
        contents = await pending;
      }
      let selection: 'contents' | 'name' = 'contents';
      if (!contents || contents.lines === 0) {
        selection = 'name';
        const why =
          config.useContents === false
            ? 'Contents switched off'
            : !c
              ? 'no Contents index'
              : unit.contentsEmpty || contents
                ? 'Contents index is empty'
                : 'Contents index is listed but not on the mirror';
        warnings.push(`${unit.component}/${unit.arch}: ${why}; packages selected by name heuristics`);
      }
      const signalsFor = (name: string): FileSignals | undefined =>
        selection === 'contents' ? contents?.packages.get(name) : undefined;
      const picked = await fetchAndParse(
        downloader,
        dist,
        unit.packages,
        release.acquireByHash,
        deps,
        async (s, label) => {
          const out: Candidate[] = [];
          for await (const para of readParagraphs(s, label)) {
            const name = para.get('package');
            if (name === undefined || !matches(name)) continue;
            const signals = signalsFor(name);
            const role: Role | undefined = signals
              ? roleFromSignals(signals)
              : selection === 'name'
                ? aptRoleFromName(name)
                : undefined;
            if (!role) continue;
            const pkg = toAptPackage(para, label);
            out.push({
              name: pkg.name,
              version: pkg.version,
              arch: pkg.arch,
              source: pkg.source,
              depends: pkg.depends,
              provides: pkg.provides,
              url: new URL(encodeURI(pkg.filename), base).toString(),
              path: pkg.filename,
              size: pkg.size,
              installedSize: pkg.installedSize,
              sha256: pkg.sha256,
              role,
              evidence: signals ? 'contents' : 'name',
              releases: signals ? [...signals.releases].sort() : [],
              component: unit.component,
              known: known.has(pkg.sha256),
            });
          }
          return out;
        },
      );
      if (!picked) throw new MirrorNotFoundError(404, { url: `${dist}${p.path}` });
      for (const cand of picked) {
        const key = `${cand.name}\0${cand.version}\0${cand.arch}\0${cand.sha256}`;
        if (seen.has(key)) continue;
        seen.add(key);
        packages.push(cand);
      }
      scannedUnits.push({
        component: unit.component,
        arch: unit.arch,
        changed: true,
        packagesIndex: p,
        contentsIndex: c,
        selection,
      });
    }
    return {
      kind: 'apt',
      changed: true,
      url: base,
      suite: config.suite,
      insecure,
      release: suiteInfo(release),
      signature: fetched.signature,
      units: scannedUnits,
      packages,
      warnings,
      state: {
        configKey,
        release: { ...fetched.validators, file: fetched.file, date: release.date },
        indexes,
      },
    };
  } finally {
    if (!deps.downloader) await downloader.close();
  }
}

/** A stable key of everything in the config that changes what a scan returns. */
export function aptConfigKey(config: AptMirrorConfig): string {
  const parts = {
    url: archiveRoot(config.url),
    suite: config.suite,
    components: config.components ?? null,
    architectures: config.architectures ?? null,
    match: config.match ?? null,
    insecure: config.insecure === true,
    useContents: config.useContents !== false,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export function archiveRoot(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new MirrorConfigError(`not a URL: ${url}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MirrorConfigError(`mirror URL must be http or https: ${url}`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

async function resolveKeyring(source: AptMirrorConfig['keyring']): Promise<Keyring> {
  if (source && typeof source === 'object' && 'keys' in source && 'fingerprints' in source) return source;
  return loadKeyring((source as KeySource | readonly KeySource[] | undefined) ?? DEBIAN_ARCHIVE_KEYRING);
}

function stripKnown(state: AptScanInput): AptScanState {
  const { knownSha256: _known, ...rest } = state;
  return rest;
}

async function fetchRelease(
  downloader: Downloader,
  dist: string,
  state: AptScanState,
  keyring: Keyring | undefined,
  signal: AbortSignal | undefined,
): Promise<
  ReleaseFetch | { unchanged: 'not-modified' | 'same-hash'; release: NonNullable<AptScanState['release']> }
> {
  const prev = state.release;
  for (const file of ['InRelease', 'Release'] as const) {
    const url = `${dist}${file}`;
    const cond = prev?.file === file ? prev : undefined;
    let res;
    try {
      res = await downloader.fetchMetadata(url, {
        etag: cond?.etag,
        lastModified: cond?.lastModified,
        signal,
      });
    } catch (err) {
      if (err instanceof MirrorNotFoundError && file === 'InRelease') continue;
      throw err;
    }
    if (res.notModified) {
      if (!cond) continue; // a 304 to an unconditional request is nonsense; fall through
      return { unchanged: 'not-modified', release: cond };
    }
    const validators: ConditionalState = {
      etag: res.etag,
      lastModified: res.lastModified,
      sha256: res.sha256,
    };
    if (cond && cond.sha256 === res.sha256) {
      return { unchanged: 'same-hash', release: { ...cond, ...validators, file } };
    }
    if (!keyring) {
      const raw = res.body.toString('utf8');
      const text = file === 'InRelease' ? ((await unverifiedCleartext(raw)) ?? raw) : raw;
      return {
        file,
        text,
        validators,
        signature: { verified: false, insecure: true, source: 'none', signers: [], unknownKeyIds: [] },
      };
    }
    if (file === 'InRelease') {
      const check = await verifyCleartext(res.body.toString('utf8'), keyring, url);
      return {
        file,
        text: check.text,
        validators,
        signature: {
          verified: true,
          insecure: false,
          source: 'InRelease',
          signers: check.signers,
          unknownKeyIds: check.unknownKeyIds,
        },
      };
    }
    let sig;
    try {
      sig = await downloader.fetchMetadata(`${dist}Release.gpg`, { signal, maxBytes: 1024 * 1024 });
    } catch (err) {
      if (err instanceof MirrorNotFoundError) {
        throw new MirrorSignatureError('neither InRelease nor Release.gpg is published', {
          url: `${dist}Release.gpg`,
          cause: err,
        });
      }
      throw err;
    }
    if (sig.notModified) throw new MirrorSignatureError('Release.gpg answered 304 unasked', { url: sig.url });
    const check = await verifyDetached(res.body, sig.body, keyring, sig.url);
    return {
      file,
      text: res.body.toString('utf8'),
      validators,
      signature: {
        verified: true,
        insecure: false,
        source: 'Release.gpg',
        signers: check.signers,
        unknownKeyIds: check.unknownKeyIds,
      },
    };
  }
  throw new MirrorNotFoundError(404, { url: `${dist}Release` });
}

function checkRelease(
  release: AptRelease,
  config: AptMirrorConfig,
  state: AptScanState,
  now: Date,
  dist: string,
): void {
  // A validly signed Release of another suite must not be accepted in place of this one (apt: "Conflicting distribution").
  if (release.suite !== config.suite && release.codename !== config.suite) {
    throw new MirrorSignatureError(
      `Release is for suite ${release.suite ?? '?'} / codename ${release.codename ?? '?'}, not ${config.suite}`,
      { url: dist },
    );
  }
  if (
    config.checkValidUntil !== false &&
    release.validUntil &&
    Date.parse(release.validUntil) < now.getTime()
  ) {
    throw new MirrorStaleError(`Release expired at ${release.validUntil}`, { url: dist });
  }
  const prevDate = state.release?.date;
  if (prevDate && release.date && Date.parse(release.date) < Date.parse(prevDate)) {
    throw new MirrorStaleError(`Release dated ${release.date} is older than the ${prevDate} already seen`, {
      url: dist,
    });
  }
}

interface PlannedUnit {
  component: string;
  arch: string;
  /** Index candidates in order of preference (same content, different compression). */
  packages: ReleaseFile[];
  contents: ReleaseFile[];
  contentsEmpty: boolean;
}

const COMPRESSIONS = ['.xz', '.gz', '.zst', ''];

function pickIndex(files: ReadonlyMap<string, ReleaseFile>, stem: string): ReleaseFile[] {
  const out: ReleaseFile[] = [];
  for (const ext of COMPRESSIONS) {
    const f = files.get(stem + ext);
    // An empty compressed file cannot be valid; an empty plain one is a real (empty) index.
    if (f && (ext === '' || f.size > 0)) out.push(f);
  }
  return out;
}

function planUnits(release: AptRelease, config: AptMirrorConfig, warnings: string[]): PlannedUnit[] {
  const explicitComponents = config.components !== undefined;
  const components = config.components ?? release.components;
  const explicitArchs = config.architectures !== undefined;
  const archs = [...(config.architectures ?? release.architectures.filter((a) => a !== 'all'))];
  if (release.archAllSeparate && !archs.includes('all')) archs.push('all');
  const dirs = new Set<string>();
  for (const f of release.files.keys()) dirs.add(f.split('/')[0] ?? '');
  const units: PlannedUnit[] = [];
  for (const component of components) {
    // dak's security archive lists `updates/main` but serves `main/`.
    const tail = component.slice(component.lastIndexOf('/') + 1);
    const dir = [...release.files.keys()].some((f) => f.startsWith(`${component}/`))
      ? component
      : dirs.has(tail)
        ? tail
        : undefined;
    if (dir === undefined) {
      if (explicitComponents) throw new MirrorConfigError(`suite has no component ${component}`);
      warnings.push(`component ${component}: no indexes listed`);
      continue;
    }
    for (const arch of archs) {
      const packages = pickIndex(release.files, `${dir}/binary-${arch}/Packages`);
      if (packages.length === 0) {
        if (explicitArchs && arch !== 'all')
          throw new MirrorConfigError(`suite has no ${dir}/binary-${arch}/Packages`);
        continue;
      }
      let contents: ReleaseFile[] = [];
      if (config.useContents !== false) {
        // Per component (Debian since stretch), flat per component, or one per architecture (older, Ubuntu).
        for (const stem of [`${dir}/Contents-${arch}`, `Contents-${dir}-${arch}`, `Contents-${arch}`]) {
          contents = pickIndex(release.files, stem);
          if (contents.length > 0) break;
        }
      }
      const first = contents[0]?.path;
      const plain = first ? release.files.get(first.replace(/\.(?:xz|gz|zst)$/, '')) : undefined;
      units.push({ component: dir, arch, packages, contents, contentsEmpty: plain?.size === 0 });
    }
  }
  if (units.length === 0)
    throw new MirrorConfigError('no Packages index matches the configured components and architectures');
  return units;
}

/**
 * Download one index (trying by-hash first when offered, then each listed compression in turn),
 * parse it from the verified file, and remove the file. `undefined` when no variant exists on the mirror.
 */
async function fetchAndParse<T>(
  downloader: Downloader,
  dist: string,
  variants: readonly ReleaseFile[],
  byHash: boolean,
  deps: ScanDeps,
  parse: (stream: import('node:stream').Readable, label: string) => Promise<T>,
): Promise<T | undefined> {
  for (const variant of variants) {
    const urls: string[] = [];
    if (byHash) {
      const slash = variant.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : variant.path.slice(0, slash + 1);
      urls.push(`${dist}${dir}by-hash/SHA256/${variant.sha256}`);
    }
    urls.push(`${dist}${variant.path}`);
    let file: DownloadedFile | undefined;
    for (const url of urls) {
      try {
        file = await downloader.download(
          url,
          { sha256: variant.sha256, size: variant.size },
          { dir: deps.dir, signal: deps.signal },
        );
        break;
      } catch (err) {
        if (!(err instanceof MirrorNotFoundError)) throw err;
      }
    }
    if (!file) continue;
    try {
      const label = `${dist}${variant.path}`;
      const stream = await openDecompressed(file.path, label, deps.maxIndexBytes);
      try {
        return await parse(stream, label);
      } finally {
        stream.destroy();
      }
    } finally {
      await rm(file.path, { force: true });
    }
  }
  return undefined;
}

function suiteInfo(r: AptRelease): AptSuiteInfo {
  return {
    origin: r.origin,
    label: r.label,
    suite: r.suite,
    codename: r.codename,
    version: r.version,
    date: r.date,
    validUntil: r.validUntil,
    architectures: r.architectures,
    components: r.components,
    acquireByHash: r.acquireByHash,
  };
}
