import { createHash } from 'node:crypto';
import { roleFromSignals, type Evidence, type FileSignals, type Role } from './classify.ts';
import { selectRpmByNameAndRelations } from './name-selection.ts';
import { createDownloader } from './downloader.ts';
import {
  MirrorAbortedError,
  MirrorConfigError,
  MirrorError,
  MirrorNotFoundError,
  MirrorParseError,
  MirrorSignatureError,
} from './errors.ts';
import { createMatcher, patternList } from './glob.ts';
import { fetchIndex } from './index-file.ts';
import { resolveKeyring, type KeySource, type Keyring } from './keyring.ts';
import { isRelativePath } from './release.ts';
import {
  parseRepomd,
  readFilelists,
  readPrimary,
  type RepomdEntry,
  type RpmPackage,
} from './rpm-metadata.ts';
import { archiveRoot, matchWarnings, type ScanDeps, type ScanWarning } from './scan-common.ts';
import { verifyDetached } from './signature.ts';
import {
  toKnownSet,
  type Candidate,
  type ConditionalState,
  type KnownSet,
  type SignatureReport,
} from './types.ts';

export interface RpmMirrorConfig {
  /** Repository root: the directory holding `repodata/`. */
  url: string;
  /** Package-name patterns (fnmatch: `*`, `?`, `[...]`, `[!...]`); only matching packages become candidates. */
  match?: string | readonly string[];
  /** Keep only these architectures (default: all but `src`/`nosrc`). */
  architectures?: readonly string[];
  /** Key(s) that sign repomd.xml (armored or binary). Required unless `insecure`. */
  key?: KeySource | readonly KeySource[] | Keyring;
  /** Skip the repomd.xml.asc check. Reported in the result. */
  insecure?: boolean;
  /** Use filelists to find packages shipping kernel paths. Default true; false selects by name only. */
  useFilelists?: boolean;
}

export interface RpmScanState {
  configKey?: string;
  repomd?: ConditionalState;
  /** repomd data type (`primary`, `filelists`) → sha256 of the file last processed. */
  indexes?: Record<string, string>;
}

export interface RpmScanInput extends RpmScanState {
  knownSha256?: KnownSet;
}

export interface RpmIndexInfo {
  type: string;
  href: string;
  sha256: string;
  size: number | undefined;
  /** repomd's `<timestamp>` of the file (seconds since the epoch): when the repository generated it. */
  timestamp: number | undefined;
}

export type RpmScanResult =
  | {
      kind: 'rpm';
      changed: false;
      url: string;
      insecure: boolean;
      reason: 'not-modified' | 'same-hash';
      warnings: ScanWarning[];
      state: RpmScanState;
    }
  | {
      kind: 'rpm';
      changed: true;
      url: string;
      insecure: boolean;
      revision: string | undefined;
      signature: SignatureReport;
      /** false: primary (and filelists) hash as last time, so no packages are listed. */
      indexesChanged: boolean;
      indexes: RpmIndexInfo[];
      selection: 'filelists' | 'name';
      packages: Candidate[];
      warnings: ScanWarning[];
      state: RpmScanState;
    };

/**
 * Scan one rpm repository: repomd.xml (signature-checked against `key` unless `insecure`), then
 * filelists and primary, streamed. Returns `changed: false` after one request when repomd is unchanged.
 */
export async function scanRpm(
  config: RpmMirrorConfig,
  input: RpmScanInput = {},
  deps: ScanDeps = {},
): Promise<RpmScanResult> {
  const base = archiveRoot(config.url);
  const insecure = config.insecure === true;
  const configKey = rpmConfigKey(config);
  const state: RpmScanState = input.configKey === configKey ? input : {};
  if (!insecure && config.key === undefined) {
    throw new MirrorConfigError('an rpm mirror needs a key to check repomd.xml.asc, or insecure: true');
  }
  const keyring = insecure ? undefined : await resolveKeyring(config.key);
  const matcher = createMatcher(config.match);
  const known = toKnownSet(input.knownSha256);
  const downloader = deps.downloader ?? createDownloader();
  const warnings: ScanWarning[] = [];
  try {
    const repomdUrl = new URL('repodata/repomd.xml', base).toString();
    const prev = state.repomd;
    const res = await downloader.fetchMetadata(repomdUrl, {
      etag: prev?.etag,
      lastModified: prev?.lastModified,
      signal: deps.signal,
    });
    const unchanged = (reason: 'not-modified' | 'same-hash', repomd: ConditionalState): RpmScanResult => ({
      kind: 'rpm',
      changed: false,
      url: base,
      insecure,
      reason,
      warnings,
      state: { configKey, repomd, indexes: state.indexes ?? {} },
    });
    if (res.notModified) {
      if (!prev)
        throw new MirrorParseError('repomd.xml answered 304 to an unconditional request', { url: repomdUrl });
      return unchanged('not-modified', prev);
    }
    const validators: ConditionalState = {
      etag: res.etag,
      lastModified: res.lastModified,
      sha256: res.sha256,
    };
    if (prev && prev.sha256 === res.sha256) return unchanged('same-hash', validators);

    let signature: SignatureReport = {
      verified: false,
      insecure: true,
      source: 'none',
      signers: [],
      unknownKeyIds: [],
    };
    if (keyring) {
      let asc;
      try {
        asc = await downloader.fetchMetadata(`${repomdUrl}.asc`, {
          signal: deps.signal,
          maxBytes: 1024 * 1024,
        });
      } catch (err) {
        if (err instanceof MirrorNotFoundError) {
          throw new MirrorSignatureError('repomd.xml.asc is not published', {
            url: `${repomdUrl}.asc`,
            cause: err,
          });
        }
        throw err;
      }
      if (asc.notModified)
        throw new MirrorSignatureError('repomd.xml.asc answered 304 unasked', { url: asc.url });
      const check = await verifyDetached(res.body, asc.body, keyring, asc.url);
      signature = {
        verified: true,
        insecure: false,
        source: 'repomd.xml.asc',
        signers: check.signers,
        unknownKeyIds: check.unknownKeyIds,
      };
    }
    // Parse exactly the bytes whose signature was checked.
    const repomd = parseRepomd(res.body.toString('utf8'), repomdUrl);
    const primary = repomd.data.get('primary');
    if (!primary) throw new MirrorParseError('repomd.xml lists no primary metadata', { url: repomdUrl });
    const filelists = config.useFilelists === false ? undefined : repomd.data.get('filelists');
    const indexes: RpmIndexInfo[] = [primary, filelists]
      .filter((e): e is RepomdEntry => e !== undefined)
      .map((e) => indexInfo(e, repomdUrl));
    const newIndexes: Record<string, string> = Object.fromEntries(indexes.map((i) => [i.type, i.sha256]));
    const indexesChanged = indexes.some((i) => state.indexes?.[i.type] !== i.sha256);
    let selection: 'filelists' | 'name' = filelists ? 'filelists' : 'name';
    if (!filelists) {
      warnings.push(
        config.useFilelists === false
          ? { code: 'FILE_LIST_OFF', message: 'filelists switched off; packages selected by name' }
          : { code: 'FILE_LIST_MISSING', message: 'no filelists metadata; packages selected by name' },
      );
    }
    const packages: Candidate[] = [];
    if (indexesChanged) {
      let signals: Map<string, FileSignals> | undefined;
      if (filelists) {
        try {
          signals = await fetchIndex(
            downloader,
            'filelists',
            [indexSource(base, indexInfo(filelists, repomdUrl))],
            deps,
            (s, label) => readFilelists(s, label),
          );
        } catch (err) {
          // filelists only helps find packages: without it, names decide (as for a repo that has none).
          if (!(err instanceof MirrorError) || err instanceof MirrorAbortedError) throw err;
          selection = 'name';
          delete newIndexes['filelists'];
          warnings.push({
            code: 'FILE_LIST_UNAVAILABLE',
            message: `filelists cannot be had as listed (${err.message}); packages selected by name`,
          });
        }
      }
      const archs = config.architectures ? new Set(config.architectures) : undefined;
      let skippedChecksum = 0;
      let namesMatched = 0;
      await fetchIndex(
        downloader,
        'primary',
        [indexSource(base, indexInfo(primary, repomdUrl))],
        deps,
        (s, label) =>
          readPrimary(s, label, (pkg) => {
            if (!matcher.matches(pkg.name)) return;
            namesMatched++;
            if (archs ? !archs.has(pkg.arch) : pkg.arch === 'src' || pkg.arch === 'nosrc') return;
            const fileSignals: FileSignals | undefined = signals?.get(pkg.checksum.value);
            const fromFiles = fileSignals ? roleFromSignals(fileSignals) : undefined;
            const declared = fromFiles
              ? undefined
              : selectRpmByNameAndRelations({
                  name: pkg.name,
                  requires: pkg.requires,
                  provides: pkg.provides,
                });
            const role: Role | undefined = fromFiles ?? declared?.role;
            if (!role) return;
            if (pkg.checksum.type !== 'sha256') {
              skippedChecksum++;
              return;
            }
            packages.push(
              toCandidate(
                pkg,
                base,
                label,
                role,
                fromFiles ? 'filelists' : (declared?.evidence ?? 'name'),
                fileSignals ? [...fileSignals.releases].sort() : (declared?.releases ?? []),
                known,
              ),
            );
          }),
      );
      if (skippedChecksum > 0)
        warnings.push({
          code: 'CHECKSUM_TYPE',
          message: `${skippedChecksum} kernel package(s) skipped: checksum type is not sha256`,
        });
      warnings.push(...matchWarnings(matcher, namesMatched, packages.length, base));
    }
    return {
      kind: 'rpm',
      changed: true,
      url: base,
      insecure,
      revision: repomd.revision,
      signature,
      indexesChanged,
      indexes,
      selection,
      packages,
      warnings,
      // Without its filelists, the next scan reads this repository again instead of taking it as handled.
      state: {
        configKey,
        repomd: selection === 'name' && filelists ? { sha256: '' } : validators,
        indexes: newIndexes,
      },
    };
  } finally {
    if (!deps.downloader) await downloader.close();
  }
}

export function rpmConfigKey(config: RpmMirrorConfig): string {
  const parts = {
    url: archiveRoot(config.url),
    match: patternList(config.match),
    architectures: config.architectures ?? null,
    insecure: config.insecure === true,
    useFilelists: config.useFilelists !== false,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function indexInfo(e: RepomdEntry, label: string): RpmIndexInfo {
  if (e.checksum.type !== 'sha256' || !/^[0-9a-f]{64}$/.test(e.checksum.value)) {
    throw new MirrorParseError(`${e.type}: checksum type ${e.checksum.type} is not supported (sha256 only)`, {
      url: label,
    });
  }
  if (!isRelativePath(e.href))
    throw new MirrorParseError(`${e.type}: unsafe location ${e.href}`, { url: label });
  return { type: e.type, href: e.href, sha256: e.checksum.value, size: e.size, timestamp: e.timestamp };
}

function indexSource(base: string, index: RpmIndexInfo) {
  const url = new URL(encodeURI(index.href), base).toString();
  return { urls: [url], sha256: index.sha256, size: index.size, label: url };
}

function toCandidate(
  pkg: RpmPackage,
  base: string,
  label: string,
  role: Role,
  evidence: Evidence,
  releases: string[],
  known: ReadonlySet<string>,
): Candidate {
  if (!/^[0-9a-f]{64}$/.test(pkg.checksum.value))
    throw new MirrorParseError(`${label}: package ${pkg.name}: bad sha256`);
  if (!isRelativePath(pkg.href))
    throw new MirrorParseError(`${label}: package ${pkg.name}: unsafe location ${pkg.href}`);
  let root = base;
  if (pkg.xmlBase) {
    let parsed: URL;
    try {
      parsed = new URL(pkg.xmlBase.endsWith('/') ? pkg.xmlBase : `${pkg.xmlBase}/`, base);
    } catch (cause) {
      throw new MirrorParseError(`${label}: package ${pkg.name}: bad xml:base`, { cause });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new MirrorParseError(`${label}: package ${pkg.name}: xml:base is not http(s)`);
    }
    root = parsed.toString();
  }
  const version = `${pkg.epoch !== '0' && pkg.epoch !== '' ? `${pkg.epoch}:` : ''}${pkg.ver}-${pkg.rel}`;
  const slash = pkg.href.lastIndexOf('/');
  return {
    name: pkg.name,
    version,
    arch: pkg.arch,
    source: parseSourceRpm(pkg.sourceRpm, pkg.name, version),
    depends: pkg.requires,
    provides: pkg.provides,
    url: new URL(encodeURI(pkg.href), root).toString(),
    path: pkg.href,
    size: pkg.size,
    installedSize: pkg.installedSize,
    sha256: pkg.checksum.value,
    role,
    evidence,
    releases,
    component: slash < 0 ? undefined : pkg.href.slice(0, slash),
    known: known.has(pkg.checksum.value),
  };
}

/** `kernel-6.5.6-300.fc39.src.rpm` → { name: kernel, version: 6.5.6-300.fc39 }. */
export function parseSourceRpm(
  value: string | undefined,
  name: string,
  version: string,
): { name: string; version: string } {
  if (!value) return { name, version };
  const stem = value.replace(/\.(?:no)?src\.rpm$/, '');
  const relDash = stem.lastIndexOf('-');
  const verDash = relDash > 0 ? stem.lastIndexOf('-', relDash - 1) : -1;
  if (verDash <= 0) return { name, version };
  return { name: stem.slice(0, verDash), version: stem.slice(verDash + 1) };
}
