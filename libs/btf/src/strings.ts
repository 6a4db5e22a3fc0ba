import { BtfError } from './errors.ts';
import { bytesToText } from './text.ts';

/**
 * A BTF string section. In split BTF the section continues the base's: offsets below `startOffset`
 * (the base's str_len) resolve in the base, the rest in this section at `offset - startOffset`.
 */
export class StringTable {
  private readonly cache = new Map<number, string>();

  constructor(
    readonly bytes: Uint8Array,
    /** First offset this table answers for: 0 for a base, the base's str_len for split BTF. */
    readonly startOffset: number,
    readonly base?: StringTable,
  ) {}

  static parse(bytes: Uint8Array, base?: StringTable): StringTable {
    const startOffset = base ? base.endOffset : 0;
    if (bytes.byteLength > 0 && bytes[bytes.byteLength - 1] !== 0) {
      throw new BtfError('BTF_BAD_STRINGS', 'string section is not NUL-terminated');
    }
    if (!base && (bytes.byteLength === 0 || bytes[0] !== 0)) {
      throw new BtfError('BTF_BAD_STRINGS', 'base string section must start with an empty string');
    }
    return new StringTable(bytes, startOffset, base);
  }

  /** One past the last offset this table (with its base) answers for. */
  get endOffset(): number {
    return this.startOffset + this.bytes.byteLength;
  }

  /** True when `offset` falls inside this table or its base (any byte of a string, as the kernel allows). */
  isValidOffset(offset: number): boolean {
    if (offset < this.startOffset) return this.base?.isValidOffset(offset) ?? false;
    return offset < this.endOffset;
  }

  /** The table (this or a base) that holds `offset`, or undefined. */
  owner(offset: number): StringTable | undefined {
    if (offset < this.startOffset) return this.base?.owner(offset);
    return offset < this.endOffset ? this : undefined;
  }

  get(offset: number): string {
    if (offset < this.startOffset) {
      if (!this.base)
        throw new BtfError('BTF_BAD_REFERENCE', `string offset ${offset} below start ${this.startOffset}`);
      return this.base.get(offset);
    }
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    const local = offset - this.startOffset;
    if (local >= this.bytes.byteLength) {
      throw new BtfError('BTF_BAD_REFERENCE', `string offset ${offset} beyond end ${this.endOffset}`);
    }
    const end = this.bytes.indexOf(0, local);
    const value = decodeName(this.bytes, local, end);
    this.cache.set(offset, value);
    return value;
  }

  /** Raw bytes of the string at `offset` (without its NUL), for byte-exact comparison across tables. */
  rawBytes(offset: number): Uint8Array {
    const owner = this.owner(offset);
    if (!owner) throw new BtfError('BTF_BAD_REFERENCE', `string offset ${offset} outside the string section`);
    const local = offset - owner.startOffset;
    return owner.bytes.subarray(local, owner.bytes.indexOf(0, local));
  }
}

/**
 * Names are almost always short ASCII: build those directly. Other bytes go through bytesToText (valid
 * UTF-8 as is, any other byte and the backslash as "\xNN", the way /dev/kmsg shows them).
 */
function decodeName(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 256) {
    let plain = true;
    for (let i = start; i < end; i++) {
      const b = bytes[i] as number;
      if (b >= 0x80 || b === 0x5c) {
        plain = false;
        break;
      }
    }
    if (plain) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  return bytesToText(bytes, start, end);
}
