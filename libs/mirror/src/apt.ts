import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { roleFromSignals, type FileSignals, type Role } from './classify.ts';
import { scanContents, type ContentsScan } from './contents.ts';
import { createDownloader, type Downloader } from './downloader.ts';
import { splitList } from './deb822.ts';
import {
  MirrorAbortedError,
  MirrorConfigError,
  MirrorError,
  MirrorParseError,
  MirrorNotFoundError,
  MirrorSignatureError,
  MirrorStaleError,
} from './errors.ts';
import { createMatcher, patternList, type PackageMatcher } from './glob.ts';
import { fetchIndex, type IndexSource } from './index-file.ts';
import { DEBIAN_ARCHIVE_KEYRING, resolveKeyring, type KeySource, type Keyring } from './keyring.ts';
import { selectByNameAndRelations } from './name-selection.ts';
import { readParagraphs, toAptPackage } from './packages.ts';
import { parseRelease, type AptRelease, type ReleaseFile } from './release.ts';
import { archiveRoot, matchWarnings, type ScanDeps, type ScanWarning } from './scan-common.ts';
import { unverifiedCleartext, verifyCleartext, verifyDetached } from './signature.ts';
import {
  toKnownSet,
  type Candidate,
  type ConditionalState,
  type KnownSet,
  type SignatureReport,
} from './types.ts';

export { archiveRoot, type ScanDeps } from './scan-common.ts';

export interface AptMirrorConfig {
  /** Archive root, the directory holding `dists/` and `pool/` (e.g. `http://<mirror>/debian-security`). */
  url: string;
  suite: string;
  /** Default: every component the Release lists. */
  components?: readonly string[];
  /** Default: every architecture the Release lists except `all` (added when the suite keeps it apart). */
  architectures?: readonly string[];
  /** Package-name patterns (fnmatch: `*`, `?`, `[...]`, `[!...]`); only matching packages become candidates. */
  match?: string | readonly string[];
  /** Trusted keys. Default: Debian's archive keyring, read from disk at scan time. */
  keyring?: KeySource | readonly KeySource[] | Keyring;
  /** Skip all signature checks. Reported in the result. */
  insecure?: boolean;
  /**
   * Accept a Release past its Valid-Until, as apt does with `Acquire::Check-Valid-Until=false`: what a
   * snapshot or frozen internal mirror needs. Off by default; when it lets an expired Release through,
   * the result says so in its warnings.
   */
  allowExpired?: boolean;
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

export interface AptIndexUnit {
  component: string;
  arch: string;
  /** false: both indexes hash as last time, so this unit was not fetched and lists no packages. */
  changed: boolean;
  packagesIndex: ReleaseFile;
  contentsIndex: ReleaseFile | undefined;
  /**
   * How candidates were picked: `name` (names and Packages relations) when Contents is missing, empty,
   * switched off, or could not be had as listed.
   */
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
      allowExpired: boolean;
      /** The Release/InRelease answered 304 or hashed as last time; nothing else was requested. */
      reason: 'not-modified' | 'same-hash';
      warnings: ScanWarning[];
      state: AptScanState;
    }
  | {
      kind: 'apt';
      changed: true;
      url: string;
      suite: string;
      insecure: boolean;
      allowExpired: boolean;
      release: AptSuiteInfo;
      signature: SignatureReport;
      units: AptIndexUnit[];
      packages: Candidate[];
      warnings: ScanWarning[];
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
 *
 * Packages is required: when no listed variant of it can be had as the Release lists it (after retries),
 * the scan fails with MirrorIndexUnavailableError. Contents only helps find packages: when it cannot be
 * had, the unit is scanned by names and Packages relations instead, and a warning says so.
 */
export async function scanApt(
  config: AptMirrorConfig,
  input: AptScanInput = {},
  deps: ScanDeps = {},
): Promise<AptScanResult> {
  const base = archiveRoot(config.url);
  const insecure = config.insecure === true;
  const allowExpired = config.allowExpired === true;
  const configKey = aptConfigKey(config);
  const state: AptScanState = input.configKey === configKey ? input : {};
  const matcher = createMatcher(config.match);
  const keyring = insecure ? undefined : await resolveKeyring(config.keyring, DEBIAN_ARCHIVE_KEYRING);
  const known = toKnownSet(input.knownSha256);
  const downloader = deps.downloader ?? createDownloader();
  const now = (deps.now ?? (() => new Date()))();
  const dist = `${base}dists/${config.suite}/`;
  const warnings: ScanWarning[] = [];
  try {
    const fetched = await fetchRelease(downloader, dist, state, keyring, deps.signal);
    if ('unchanged' in fetched) {
      return {
        kind: 'apt',
        changed: false,
        url: base,
        suite: config.suite,
        insecure,
        allowExpired,
        reason: fetched.unchanged,
        warnings,
        state: { ...stripKnown(state), configKey, release: fetched.release },
      };
    }
    const release = parseRelease(fetched.text, `${dist}${fetched.file}`);
    checkRelease(release, config, state, now, dist, warnings);

    const units = planUnits(release, config, warnings);
    const indexes: Record<string, string> = {};
    const contentsCache = new Map<string, Promise<ContentsScan | MirrorError>>();
    const packages: Candidate[] = [];
    const seen = new Set<string>();
    const scannedUnits: AptIndexUnit[] = [];
    let allUnitsRead = true;
    let degraded = false;
    let namesMatched = 0;
    for (const unit of units) {
      const p = unit.packages[0] as ReleaseFile;
      const c = unit.contents[0];
      const unchanged =
        state.indexes?.[p.path] === p.sha256 && (c === undefined || state.indexes?.[c.path] === c.sha256);
      if (unchanged) {
        indexes[p.path] = p.sha256;
        if (c) indexes[c.path] = c.sha256;
        allUnitsRead = false;
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
      const where = `${unit.component}/${unit.arch}`;
      let contents: ContentsScan | undefined;
      if (c && !unit.contentsEmpty) {
        let pending = contentsCache.get(c.path);
        if (!pending) {
          pending = fetchIndex(
            downloader,
            indexName(c),
            indexSources(dist, unit.contents, release.acquireByHash),
            deps,
            (stream, label) => scanContents(stream, label),
          ).catch((err: unknown) => {
            // Contents is a help, not a need: anything short of an abort or a local failure degrades.
            if (err instanceof MirrorError && !(err instanceof MirrorAbortedError)) return err;
            throw err;
          });
          contentsCache.set(c.path, pending);
        }
        const got = await pending;
        if (got instanceof MirrorError) {
          degraded = true;
          warnings.push({
            code: 'FILE_LIST_UNAVAILABLE',
            message: `${where}: Contents cannot be had as listed (${got.message}); packages selected by name and by Packages' Depends/Provides`,
          });
        } else {
          contents = got;
        }
      }
      let selection: 'contents' | 'name' = 'contents';
      if (!contents || contents.lines === 0) {
        selection = 'name';
        const warning = contentsWarning(config, c, unit.contentsEmpty || contents !== undefined, where);
        if (warning) warnings.push(warning);
      }
      let picked: { candidates: Candidate[]; namesMatched: number };
      try {
        picked = await fetchIndex(
          downloader,
          indexName(p),
          indexSources(dist, unit.packages, release.acquireByHash),
          deps,
          (stream, label) =>
            readCandidates(stream, label, {
              matcher,
              signalsFor: (name) => (selection === 'contents' ? contents?.packages.get(name) : undefined),
              selection,
              base,
              component: unit.component,
              known,
              reject: (w) => warnings.push(w),
            }),
        );
      } catch (err) {
        if (!unit.optional || !(err instanceof MirrorError) || err instanceof MirrorAbortedError) throw err;
        // Architecture-independent packages hold no kernel build: the suite goes on without them.
        degraded = true;
        allUnitsRead = false;
        warnings.push({
          code: 'INDEX_UNAVAILABLE',
          message: `${where}: Packages cannot be had as listed (${err.message}); its architecture-independent packages (no kernel builds among them) are left out`,
        });
        continue;
      }
      namesMatched += picked.namesMatched;
      for (const cand of picked.candidates) {
        const key = `${cand.name}\0${cand.version}\0${cand.arch}\0${cand.sha256}`;
        if (seen.has(key)) continue;
        seen.add(key);
        packages.push(cand);
      }
      indexes[p.path] = p.sha256;
      // A Contents that could not be had is not recorded: the next scan reads this unit again.
      if (c && (selection === 'contents' || unit.contentsEmpty || contents !== undefined)) {
        indexes[c.path] = c.sha256;
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
    if (allUnitsRead) warnings.push(...matchWarnings(matcher, namesMatched, packages.length, config.suite));
    return {
      kind: 'apt',
      changed: true,
      url: base,
      suite: config.suite,
      insecure,
      allowExpired,
      release: suiteInfo(release),
      signature: fetched.signature,
      units: scannedUnits,
      packages,
      warnings,
      state: {
        configKey,
        // A unit read without its Contents is read again next time: the Release must not look handled.
        release: degraded
          ? { sha256: '', file: fetched.file, date: release.date }
          : { ...fetched.validators, file: fetched.file, date: release.date },
        indexes,
      },
    };
  } finally {
    if (!deps.downloader) await downloader.close();
  }
}

function contentsWarning(
  config: AptMirrorConfig,
  listed: ReleaseFile | undefined,
  empty: boolean,
  where: string,
): ScanWarning | undefined {
  const tail = "packages selected by name and by Packages' Depends/Provides";
  if (config.useContents === false)
    return { code: 'FILE_LIST_OFF', message: `${where}: Contents switched off; ${tail}` };
  if (!listed) return { code: 'FILE_LIST_MISSING', message: `${where}: no Contents index; ${tail}` };
  if (empty) return { code: 'FILE_LIST_EMPTY', message: `${where}: Contents index is empty; ${tail}` };
  // Unavailable: already said, with the reason, where it failed.
  return undefined;
}

interface CandidateContext {
  matcher: PackageMatcher;
  signalsFor: (name: string) => FileSignals | undefined;
  selection: 'contents' | 'name';
  base: string;
  component: string;
  known: ReadonlySet<string>;
  /** Where an entry that cannot be used (an absurd Size, a bad hash) is reported; the index goes on. */
  reject: (warning: ScanWarning) => void;
}

async function readCandidates(
  stream: Readable,
  label: string,
  ctx: CandidateContext,
): Promise<{ candidates: Candidate[]; namesMatched: number }> {
  const candidates: Candidate[] = [];
  let namesMatched = 0;
  for await (const para of readParagraphs(stream, label)) {
    const name = para.get('package');
    if (name === undefined || !ctx.matcher.matches(name)) continue;
    namesMatched++;
    let role: Role | undefined;
    let evidence: Candidate['evidence'];
    let releases: string[];
    if (ctx.selection === 'contents') {
      const signals = ctx.signalsFor(name);
      role = signals ? roleFromSignals(signals) : undefined;
      evidence = 'contents';
      releases = signals ? [...signals.releases].sort() : [];
      if (!role) continue;
    } else {
      const picked = selectByNameAndRelations({
        name,
        depends: [...splitList(para.get('pre-depends')), ...splitList(para.get('depends'))],
        provides: splitList(para.get('provides')),
      });
      if (!picked) continue;
      role = picked.role;
      evidence = picked.evidence;
      releases = picked.releases;
    }
    let pkg;
    try {
      pkg = toAptPackage(para, label);
    } catch (err) {
      if (!(err instanceof MirrorParseError)) throw err;
      ctx.reject({ code: 'PACKAGE_ENTRY_REJECTED', message: `${err.message}; entry skipped` });
      continue;
    }
    candidates.push({
      name: pkg.name,
      version: pkg.version,
      arch: pkg.arch,
      source: pkg.source,
      depends: pkg.depends,
      provides: pkg.provides,
      url: new URL(encodeURI(pkg.filename), ctx.base).toString(),
      path: pkg.filename,
      size: pkg.size,
      installedSize: pkg.installedSize,
      sha256: pkg.sha256,
      role,
      evidence,
      releases,
      component: ctx.component,
      known: ctx.known.has(pkg.sha256),
    });
  }
  return { candidates, namesMatched };
}

/** An index as people name it: the listed path without its compression suffix. */
function indexName(file: ReleaseFile): string {
  return file.path.replace(/\.(?:xz|gz|zst|bz2)$/, '');
}

/** Each listed variant of an index, by-hash first when the Release offers it. */
function indexSources(dist: string, variants: readonly ReleaseFile[], byHash: boolean): IndexSource[] {
  return variants.map((variant) => {
    const urls: string[] = [];
    if (byHash) {
      const slash = variant.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : variant.path.slice(0, slash + 1);
      urls.push(`${dist}${dir}by-hash/SHA256/${variant.sha256}`);
    }
    urls.push(`${dist}${variant.path}`);
    return { urls, sha256: variant.sha256, size: variant.size, label: `${dist}${variant.path}` };
  });
}

/** A stable key of everything in the config that changes what a scan returns. */
export function aptConfigKey(config: AptMirrorConfig): string {
  const parts = {
    url: archiveRoot(config.url),
    suite: config.suite,
    components: config.components ?? null,
    architectures: config.architectures ?? null,
    match: patternList(config.match),
    insecure: config.insecure === true,
    allowExpired: config.allowExpired === true,
    useContents: config.useContents !== false,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
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
  warnings: ScanWarning[],
): void {
  // A validly signed Release of another suite must not be accepted in place of this one (apt: "Conflicting distribution").
  if (release.suite !== config.suite && release.codename !== config.suite) {
    throw new MirrorSignatureError(
      `Release is for suite ${release.suite ?? '?'} / codename ${release.codename ?? '?'}, not ${config.suite}`,
      { url: dist },
    );
  }
  if (release.validUntil && Date.parse(release.validUntil) < now.getTime()) {
    if (config.allowExpired !== true) {
      throw new MirrorStaleError(
        `Release expired at ${release.validUntil} (Valid-Until); a snapshot or frozen mirror can be scanned ` +
          'with the mirror setting allowExpired (CLI --allow-expired), as apt does with ' +
          'Acquire::Check-Valid-Until=false',
        { url: dist },
      );
    }
    warnings.push({
      code: 'RELEASE_EXPIRED',
      message: `Release expired at ${release.validUntil} (Valid-Until); accepted because allowExpired is set`,
    });
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
  /** The `all` unit added because the suite keeps arch:all apart: scanned when it can be, not needed. */
  optional: boolean;
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

function planUnits(release: AptRelease, config: AptMirrorConfig, warnings: ScanWarning[]): PlannedUnit[] {
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
      warnings.push({ code: 'COMPONENT_EMPTY', message: `component ${component}: no indexes listed` });
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
      units.push({
        component: dir,
        arch,
        packages,
        contents,
        contentsEmpty: plain?.size === 0,
        optional: arch === 'all' && !config.architectures?.includes('all'),
      });
    }
  }
  if (units.length === 0)
    throw new MirrorConfigError('no Packages index matches the configured components and architectures');
  return units;
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
