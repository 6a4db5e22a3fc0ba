import { parseDeb822 } from './deb822.ts';
import { MirrorParseError } from './errors.ts';

/** One line of a Release file's SHA256 list. */
export interface ReleaseFile {
  /** Path relative to `dists/<suite>/`. */
  path: string;
  sha256: string;
  size: number;
}

/** The parts of an apt Release file the scanner uses (the signed text, never the raw download). */
export interface AptRelease {
  origin: string | undefined;
  label: string | undefined;
  suite: string | undefined;
  codename: string | undefined;
  version: string | undefined;
  /** ISO 8601. */
  date: string | undefined;
  /** ISO 8601. */
  validUntil: string | undefined;
  architectures: string[];
  components: string[];
  acquireByHash: boolean;
  /** `No-Support-for-Architecture-all: Packages`: arch:all packages are only in binary-all. */
  archAllSeparate: boolean;
  files: ReadonlyMap<string, ReleaseFile>;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function parseRelease(text: string, label: string): AptRelease {
  const paragraphs = parseDeb822(text, label);
  const p = paragraphs[0];
  if (!p) throw new MirrorParseError(`${label}: empty Release`);
  const sums = p.get('sha256');
  if (sums === undefined) throw new MirrorParseError(`${label}: no SHA256 field`);
  const files = new Map<string, ReleaseFile>();
  for (const raw of sums.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    const [sha256, size, path] = parts;
    if (parts.length !== 3 || !sha256 || !size || !path || !SHA256.test(sha256) || !/^\d+$/.test(size)) {
      throw new MirrorParseError(`${label}: malformed SHA256 line: ${line.slice(0, 200)}`);
    }
    if (!isRelativePath(path)) throw new MirrorParseError(`${label}: unsafe index path ${path}`);
    files.set(path, { path, sha256, size: Number(size) });
  }
  return {
    origin: p.get('origin'),
    label: p.get('label'),
    suite: p.get('suite'),
    codename: p.get('codename'),
    version: p.get('version'),
    date: parseDate(p.get('date'), 'Date', label),
    validUntil: parseDate(p.get('valid-until'), 'Valid-Until', label),
    architectures: words(p.get('architectures')),
    components: words(p.get('components')),
    acquireByHash: (p.get('acquire-by-hash') ?? '').toLowerCase() === 'yes',
    archAllSeparate: words(p.get('no-support-for-architecture-all')).includes('Packages'),
    files,
  };
}

function words(v: string | undefined): string[] {
  return v ? v.split(/\s+/).filter((w) => w.length > 0) : [];
}

function parseDate(v: string | undefined, field: string, label: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new MirrorParseError(`${label}: unparseable ${field}: ${v.slice(0, 100)}`);
  return new Date(t).toISOString();
}

/** A path that stays below its base when resolved as a URL: no scheme, no absolute path, no `..`. */
export function isRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(path))
    return false;
  return !path.split('/').some((seg) => seg === '..' || seg === '.');
}
