import type { Readable } from 'node:stream';
import { Deb822Reader, splitList, type Paragraph } from './deb822.ts';
import { MirrorParseError } from './errors.ts';
import { readLines } from './lines.ts';
import { isRelativePath } from './release.ts';

/** The fields of one Packages paragraph the scanner keeps. */
export interface AptPackage {
  name: string;
  version: string;
  arch: string;
  source: { name: string; version: string };
  depends: string[];
  provides: string[];
  filename: string;
  size: number;
  sha256: string;
  /** Bytes (the field is in KiB). */
  installedSize: number | undefined;
}

/** Stream the paragraphs of a Packages file. */
export async function* readParagraphs(stream: Readable, label: string): AsyncGenerator<Paragraph> {
  const reader = new Deb822Reader(label);
  for await (const line of readLines(stream, label)) {
    const p = reader.push(line);
    if (p) yield p;
  }
  const last = reader.end();
  if (last) yield last;
}

/** No package is a TiB: a larger Size is a broken or hostile index entry (and overflows the column). */
const MAX_PACKAGE_BYTES = 2 ** 40;

/** Validate and convert a paragraph; a selected package without a usable field fails the whole index. */
export function toAptPackage(p: Paragraph, label: string): AptPackage {
  const name = p.get('package');
  const where = `${label}: package ${name ?? '?'}`;
  const need = (field: string): string => {
    const v = p.get(field);
    if (v === undefined || v === '') throw new MirrorParseError(`${where}: missing ${field}`);
    return v;
  };
  const version = need('version');
  const arch = need('architecture');
  const filename = need('filename');
  const sizeText = need('size');
  const sha256 = need('sha256').toLowerCase();
  if (!/^\d+$/.test(sizeText)) throw new MirrorParseError(`${where}: bad Size ${sizeText}`);
  if (sizeText.length > 15 || Number(sizeText) > MAX_PACKAGE_BYTES)
    throw new MirrorParseError(
      `${where}: absurd Size ${sizeText.slice(0, 32)} (more than ${MAX_PACKAGE_BYTES} bytes)`,
    );
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new MirrorParseError(`${where}: bad SHA256`);
  if (!isRelativePath(filename)) throw new MirrorParseError(`${where}: unsafe Filename ${filename}`);
  const installed = p.get('installed-size');
  return {
    name: need('package'),
    version,
    arch,
    source: parseSource(p.get('source'), need('package'), version),
    depends: [...splitList(p.get('pre-depends')), ...splitList(p.get('depends'))],
    provides: splitList(p.get('provides')),
    filename,
    size: Number(sizeText),
    sha256,
    installedSize: installed && /^\d+$/.test(installed) ? Number(installed) * 1024 : undefined,
  };
}

/** `Source: linux-signed-amd64 (6.1.172+1)`: the source version differs from the binary's when given. */
export function parseSource(
  value: string | undefined,
  name: string,
  version: string,
): { name: string; version: string } {
  if (!value) return { name, version };
  const m = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(value.trim());
  if (!m || !m[1]) return { name, version };
  return { name: m[1], version: m[2]?.trim() ?? version };
}
