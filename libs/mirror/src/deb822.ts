import { MirrorParseError } from './errors.ts';

/**
 * One deb822 paragraph (Release, Packages). Field names are case-insensitive, so keys are lower-case.
 * Continuation lines are joined with "\n", keeping the first line as given (possibly empty, as in
 * `SHA256:`), and each continuation line with its leading space removed.
 */
export type Paragraph = Map<string, string>;

/** Incremental deb822 reader: feed lines, collect finished paragraphs. */
export class Deb822Reader {
  #current: Paragraph | undefined;
  #lastField: string | undefined;
  readonly #label: string;
  #lineNo = 0;

  constructor(label: string) {
    this.#label = label;
  }

  /** Feed one line; returns the paragraph this line finished, if any. */
  push(line: string): Paragraph | undefined {
    this.#lineNo++;
    if (line.trim() === '') return this.end();
    if (line.startsWith('#')) return undefined;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!this.#current || this.#lastField === undefined) {
        throw new MirrorParseError(`${this.#label}:${this.#lineNo}: continuation line outside a field`);
      }
      const rest = line.slice(1);
      const prev = this.#current.get(this.#lastField) ?? '';
      this.#current.set(this.#lastField, `${prev}\n${rest === '.' ? '' : rest}`);
      return undefined;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MirrorParseError(`${this.#label}:${this.#lineNo}: not a "Field: value" line`);
    const name = line.slice(0, colon).toLowerCase();
    this.#current ??= new Map();
    this.#current.set(name, line.slice(colon + 1).trim());
    this.#lastField = name;
    return undefined;
  }

  /** Finish the paragraph in progress (at a blank line or the end of input). */
  end(): Paragraph | undefined {
    const done = this.#current;
    this.#current = undefined;
    this.#lastField = undefined;
    return done;
  }
}

/** Parse a whole deb822 document held in memory. */
export function parseDeb822(text: string, label: string): Paragraph[] {
  const reader = new Deb822Reader(label);
  const out: Paragraph[] = [];
  for (const line of text.split('\n')) {
    const p = reader.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (p) out.push(p);
  }
  const last = reader.end();
  if (last) out.push(last);
  return out;
}

/** Split a comma-separated relationship field (Depends, Provides) into trimmed clauses. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 0);
}
