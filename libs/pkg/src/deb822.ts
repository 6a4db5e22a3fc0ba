import { PkgCorruptError } from './errors.ts';

/**
 * One deb822 paragraph: field name (as written) → value. A value is the text after the colon with
 * surrounding blanks removed; continuation lines follow it verbatim, each after a `\n`, so
 * `${name}: ${value}` reproduces the field as `dpkg-deb -f` prints it.
 */
export type Deb822Paragraph = Record<string, string>;

const FIELD_NAME = /^[!-9;-~][!-9;-~]*$/;

/**
 * Parses deb822 text (Debian control files, Packages, Release) into paragraphs.
 * Comment lines (`#`) are skipped, as dpkg does for control files. A field name repeated within
 * a paragraph, a continuation line without a field, or a line without a colon is PKG_CORRUPT.
 */
export function parseDeb822(text: string): Deb822Paragraph[] {
  const paragraphs: Deb822Paragraph[] = [];
  let current: Deb822Paragraph | null = null;
  let seen = new Set<string>();
  let lastField: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (current !== null) paragraphs.push(current);
      current = null;
      lastField = null;
      seen = new Set();
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === null || lastField === null) {
        throw new PkgCorruptError(`deb822 line ${i + 1}: continuation line outside a field`);
      }
      current[lastField] += `\n${line.trimEnd()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) {
      throw new PkgCorruptError(`deb822 line ${i + 1}: expected "Field: value"`);
    }
    const key = name.toLowerCase();
    if (seen.has(key)) {
      throw new PkgCorruptError(`deb822 line ${i + 1}: duplicate field ${name}`);
    }
    seen.add(key);
    current ??= Object.create(null) as Deb822Paragraph;
    current[name] = line.slice(colon + 1).trim();
    lastField = name;
  }
  if (current !== null) paragraphs.push(current);
  return paragraphs;
}

/** A field's value by case-insensitive name, as dpkg looks fields up. */
export function deb822Field(paragraph: Deb822Paragraph, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const key of Object.keys(paragraph)) {
    if (key.toLowerCase() === want) return paragraph[key];
  }
  return undefined;
}
