import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { XMLParser } from 'fast-xml-parser';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { addPath, emptySignals, normalisePath, type FileSignals } from './classify.ts';
import { MirrorParseError } from './errors.ts';

/** One `<data>` entry of repomd.xml. */
export interface RepomdEntry {
  type: string;
  href: string;
  /** Checksum of the file as stored (compressed). */
  checksum: { type: string; value: string };
  size: number | undefined;
  openSize: number | undefined;
  timestamp: number | undefined;
}

export interface Repomd {
  revision: string | undefined;
  data: Map<string, RepomdEntry>;
}

/** repomd.xml is small (a few KiB): a DOM-style parse is fine here, unlike primary and filelists. */
export function parseRepomd(xml: string, label: string): Repomd {
  let doc: unknown;
  try {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
      processEntities: true,
      isArray: (name) => name === 'data',
    });
    doc = parser.parse(xml, true);
  } catch (cause) {
    throw new MirrorParseError(`${label}: not well-formed XML`, { cause });
  }
  const root = (doc as Record<string, unknown>)['repomd'] as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new MirrorParseError(`${label}: no <repomd> root`);
  const data = new Map<string, RepomdEntry>();
  for (const raw of (root['data'] as Array<Record<string, unknown>> | undefined) ?? []) {
    const type = str(raw['@type']);
    const location = raw['location'] as Record<string, unknown> | undefined;
    const href = str(location?.['@href']);
    const checksum = raw['checksum'] as Record<string, unknown> | string | undefined;
    const ctype = typeof checksum === 'object' ? str(checksum['@type']) : undefined;
    const cvalue = typeof checksum === 'object' ? str(checksum['#text']) : undefined;
    if (!type || !href || !ctype || !cvalue) throw new MirrorParseError(`${label}: incomplete <data> entry`);
    data.set(type, {
      type,
      href,
      checksum: { type: ctype.toLowerCase(), value: cvalue.trim().toLowerCase() },
      size: num(raw['size']),
      openSize: num(raw['open-size']),
      timestamp: num(raw['timestamp']),
    });
  }
  return { revision: str(root['revision']), data };
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function num(v: unknown): number | undefined {
  const s = str(v)?.trim();
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
}

/** One `<package>` of primary.xml, reduced to what btfwatch needs. */
export interface RpmPackage {
  name: string;
  arch: string;
  epoch: string;
  ver: string;
  rel: string;
  checksum: { type: string; value: string };
  href: string;
  xmlBase: string | undefined;
  size: number;
  installedSize: number | undefined;
  sourceRpm: string | undefined;
  provides: string[];
  requires: string[];
}

const FLAG_OPS: Record<string, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };

function formatEntry(a: Record<string, string>): string | undefined {
  const name = a['name'];
  if (!name) return undefined;
  const op = a['flags'] ? FLAG_OPS[a['flags']] : undefined;
  if (!op || a['ver'] === undefined) return name;
  const epoch = a['epoch'] && a['epoch'] !== '0' ? `${a['epoch']}:` : '';
  const rel = a['rel'] ? `-${a['rel']}` : '';
  return `${name} ${op} ${epoch}${a['ver']}${rel}`;
}

/**
 * Drive a streaming XML parser over a (decompressed) stream. Saxes keeps only the open-element path in
 * memory, so a 100 MB+ primary.xml costs a few KiB plus whatever the handlers keep.
 */
async function streamXml(
  stream: Readable,
  label: string,
  handlers: {
    open(tag: SaxesTagPlain): void;
    close(tag: SaxesTagPlain): void;
    text(text: string): void;
  },
): Promise<void> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  let failure: Error | undefined;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('opentag', (tag) => handlers.open(tag as SaxesTagPlain));
  parser.on('closetag', (tag) => handlers.close(tag as SaxesTagPlain));
  parser.on('text', handlers.text);
  parser.on('cdata', handlers.text);
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.write(decoder.write(chunk));
      if (failure) break;
    }
    if (!failure) {
      parser.write(decoder.end());
      parser.close();
    }
  } catch (cause) {
    if (cause instanceof MirrorParseError) throw cause;
    // Decoder errors already are MirrorParseError; anything else thrown here came from the handlers.
    failure ??= cause instanceof Error ? cause : new Error(String(cause));
  }
  if (failure) {
    stream.destroy();
    throw failure instanceof MirrorParseError
      ? failure
      : new MirrorParseError(`${label}: ${failure.message}`, { cause: failure });
  }
}

/** Stream primary.xml; `onPackage` sees each package as it completes (keep only what you need). */
export async function readPrimary(
  stream: Readable,
  label: string,
  onPackage: (pkg: RpmPackage) => void,
): Promise<number> {
  let count = 0;
  let pkg: Partial<RpmPackage> | undefined;
  let text = '';
  let inDeps: 'provides' | 'requires' | undefined;
  let depth = 0;
  let pkgDepth = -1;
  await streamXml(stream, label, {
    open(tag) {
      depth++;
      text = '';
      const a = tag.attributes;
      if (tag.name === 'package' && pkg === undefined) {
        pkg = { provides: [], requires: [] };
        pkgDepth = depth;
        return;
      }
      if (!pkg) return;
      switch (tag.name) {
        case 'version':
          pkg.epoch = a['epoch'] ?? '0';
          pkg.ver = a['ver'];
          pkg.rel = a['rel'];
          break;
        case 'checksum':
          pkg.checksum = { type: (a['type'] ?? '').toLowerCase(), value: '' };
          break;
        case 'location':
          pkg.href = a['href'];
          pkg.xmlBase = a['xml:base'];
          break;
        case 'size':
          pkg.size =
            a['package'] !== undefined && /^\d+$/.test(a['package']) ? Number(a['package']) : undefined;
          pkg.installedSize =
            a['installed'] !== undefined && /^\d+$/.test(a['installed']) ? Number(a['installed']) : undefined;
          break;
        case 'rpm:provides':
          inDeps = 'provides';
          break;
        case 'rpm:requires':
          inDeps = 'requires';
          break;
        case 'rpm:entry':
          if (inDeps) {
            const e = formatEntry(a);
            if (e) pkg[inDeps]?.push(e);
          }
          break;
      }
    },
    text(t) {
      text += t;
    },
    close(tag) {
      if (pkg) {
        switch (tag.name) {
          case 'name':
            if (depth === pkgDepth + 1) pkg.name = text.trim();
            break;
          case 'arch':
            if (depth === pkgDepth + 1) pkg.arch = text.trim();
            break;
          case 'checksum':
            if (pkg.checksum) pkg.checksum.value = text.trim().toLowerCase();
            break;
          case 'rpm:sourcerpm':
            pkg.sourceRpm = text.trim() || undefined;
            break;
          case 'rpm:provides':
          case 'rpm:requires':
            inDeps = undefined;
            break;
          case 'package':
            if (depth === pkgDepth) {
              count++;
              onPackage(completePackage(pkg, label));
              pkg = undefined;
            }
            break;
        }
      }
      text = '';
      depth--;
    },
  });
  return count;
}

function completePackage(p: Partial<RpmPackage>, label: string): RpmPackage {
  const where = `${label}: package ${p.name ?? '?'}`;
  if (!p.name || !p.arch || p.ver === undefined || p.rel === undefined) {
    throw new MirrorParseError(`${where}: missing name, arch or version`);
  }
  if (!p.checksum || !p.checksum.value) throw new MirrorParseError(`${where}: missing checksum`);
  if (!p.href) throw new MirrorParseError(`${where}: missing location`);
  if (p.size === undefined) throw new MirrorParseError(`${where}: missing package size`);
  return {
    name: p.name,
    arch: p.arch,
    epoch: p.epoch ?? '0',
    ver: p.ver,
    rel: p.rel,
    checksum: p.checksum,
    href: p.href,
    xmlBase: p.xmlBase,
    size: p.size,
    installedSize: p.installedSize,
    sourceRpm: p.sourceRpm,
    provides: p.provides ?? [],
    requires: p.requires ?? [],
  };
}

/** Stream filelists.xml and keep the kernel-path signals of each package, keyed by pkgid (its checksum). */
export async function readFilelists(stream: Readable, label: string): Promise<Map<string, FileSignals>> {
  const out = new Map<string, FileSignals>();
  let pkgid: string | undefined;
  let signals: FileSignals | undefined;
  let inFile = false;
  let text = '';
  await streamXml(stream, label, {
    open(tag) {
      if (tag.name === 'package') {
        pkgid = tag.attributes['pkgid']?.toLowerCase();
        signals = undefined;
      } else if (tag.name === 'file') {
        inFile = true;
        text = '';
      }
    },
    text(t) {
      if (inFile) text += t;
    },
    close(tag) {
      if (tag.name === 'file') {
        inFile = false;
        const probe = signals ?? emptySignals();
        if (addPath(probe, normalisePath(text.trim())) && !signals && pkgid) {
          signals = probe;
          out.set(pkgid, probe);
        }
      } else if (tag.name === 'package') {
        pkgid = undefined;
        signals = undefined;
      }
    },
  });
  return out;
}
