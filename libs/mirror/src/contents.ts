import type { Readable } from 'node:stream';
import { addPath, emptySignals, mayBeInteresting, type FileSignals } from './classify.ts';
import { readLines } from './lines.ts';

export interface ContentsScan {
  /** Non-empty lines read; 0 means the file lists nothing (Debian's security archive ships such files). */
  lines: number;
  /** Packages that ship kernel paths, by binary package name. */
  packages: Map<string, FileSignals>;
}

/**
 * Stream-parse a Debian Contents file: `path<whitespace>location[,location...]` where a location is
 * `[area/]section/package`. The path may itself contain spaces, so the location is the last field.
 * Old-style files start with a free-text header; its lines never look like kernel paths.
 */
export async function scanContents(stream: Readable, label: string): Promise<ContentsScan> {
  const packages = new Map<string, FileSignals>();
  let lines = 0;
  for await (const line of readLines(stream, label)) {
    if (line.length === 0) continue;
    lines++;
    if (!mayBeInteresting(line)) continue;
    const split = lastWhitespaceRun(line);
    if (split === undefined) continue;
    const path = line.slice(0, split.start);
    const locations = line.slice(split.end);
    const probe = emptySignals();
    if (!addPath(probe, path)) continue;
    for (const location of locations.split(',')) {
      const name = location.slice(location.lastIndexOf('/') + 1);
      if (name === '') continue;
      let signals = packages.get(name);
      if (!signals) {
        signals = emptySignals();
        packages.set(name, signals);
      }
      addPath(signals, path);
    }
  }
  return { lines, packages };
}

function lastWhitespaceRun(line: string): { start: number; end: number } | undefined {
  let end = line.length;
  while (end > 0 && !isSpace(line.charCodeAt(end - 1))) end--;
  if (end === 0 || end === line.length) return undefined;
  let start = end;
  while (start > 0 && isSpace(line.charCodeAt(start - 1))) start--;
  return start === 0 ? undefined : { start, end };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
