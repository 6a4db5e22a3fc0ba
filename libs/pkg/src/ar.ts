import type { ByteReader } from './byte-reader.ts';
import { PkgBadMagicError, PkgCorruptError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';

/** One member of a Unix ar archive (the container of a .deb). */
export interface ArMember {
  /** Name with GNU `/` terminator and space padding removed; BSD `#1/<len>` names resolved. */
  name: string;
  /** Size of the member's data in bytes. */
  size: number;
  /** Offset of the member's data in the archive. */
  offset: number;
}

const GLOBAL_MAGIC = '!<arch>\n';
const HEADER_SIZE = 60;
const latin1 = new TextDecoder('latin1');

/**
 * Streaming reader for the common ar format (System V/GNU names, BSD `#1/` long names).
 * GNU long-name tables (`//`) are not resolved: .deb never uses them.
 * Members are read in order; whatever the caller leaves unread of a member is skipped.
 */
export class ArReader {
  private current: { end: number; padded: number } | null = null;

  constructor(
    private readonly reader: ByteReader,
    private readonly limits: Limits,
  ) {}

  async readMagic(): Promise<void> {
    const magic = latin1.decode(await this.reader.read(GLOBAL_MAGIC.length, 'ar global header'));
    if (magic !== GLOBAL_MAGIC) {
      throw new PkgBadMagicError(`not an ar archive: starts with ${JSON.stringify(magic)}`);
    }
  }

  /** The next member's header, or null at a clean end of the archive. */
  async next(): Promise<ArMember | null> {
    await this.finishCurrent();
    if (await this.reader.atEnd()) return null;
    const headerOffset = this.reader.offset;
    const raw = latin1.decode(await this.reader.read(HEADER_SIZE, `ar member header at ${headerOffset}`));
    if (raw.slice(58, 60) !== '`\n') {
      throw new PkgCorruptError(`ar member header at ${headerOffset}: bad terminator`);
    }
    const sizeField = raw.slice(48, 58).trimEnd();
    if (!/^[0-9]{1,10}$/.test(sizeField)) {
      throw new PkgCorruptError(
        `ar member header at ${headerOffset}: bad size field ${JSON.stringify(sizeField)}`,
      );
    }
    let size = Number(sizeField);
    let name = raw.slice(0, 16).trimEnd();
    checkLimit(this.limits, 'maxEntryBytes', size, `ar member at ${headerOffset} size`);
    const dataStart = this.reader.offset;
    const end = dataStart + size;
    if (name.startsWith('#1/')) {
      // BSD: the name is stored at the start of the data and counted in its size.
      const lenField = name.slice(3);
      if (!/^[0-9]{1,4}$/.test(lenField) || Number(lenField) > size) {
        throw new PkgCorruptError(
          `ar member header at ${headerOffset}: bad BSD name length ${JSON.stringify(lenField)}`,
        );
      }
      const nameLen = Number(lenField);
      name = latin1
        .decode(await this.reader.read(nameLen, `ar member name at ${dataStart}`))
        .replace(/\0+$/, '');
      size -= nameLen;
    } else if (name.endsWith('/') && name !== '/' && name !== '//') {
      name = name.slice(0, -1);
    }
    this.current = { end, padded: end + (end % 2) };
    return { name, size, offset: this.reader.offset };
  }

  /** The current member's data as a stream of chunks. */
  body(): AsyncGenerator<Uint8Array, void, undefined> {
    const current = this.requireCurrent();
    return this.reader.take(current.end - this.reader.offset, `ar member data ending at ${current.end}`);
  }

  /** The current member's data, fully read (caller bounds its size first). */
  async readBody(): Promise<Uint8Array> {
    const current = this.requireCurrent();
    return this.reader.read(current.end - this.reader.offset, `ar member data ending at ${current.end}`);
  }

  private requireCurrent(): { end: number; padded: number } {
    if (this.current === null) throw new Error('ArReader: no current member');
    return this.current;
  }

  private async finishCurrent(): Promise<void> {
    if (this.current === null) return;
    const { end, padded } = this.current;
    this.current = null;
    await this.reader.skip(end - this.reader.offset, `ar member data ending at ${end}`);
    if (padded > end && !(await this.reader.atEnd())) {
      // The pad byte may be missing after the last member; tools accept that.
      await this.reader.skip(1, 'ar padding');
    }
  }
}
