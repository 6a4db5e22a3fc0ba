import { ElfError } from './errors.ts';

/** Bounds-checked reads over a byte range; every offset is validated before use. */
export class ByteReader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ElfError('ELF_MALFORMED', `${what}: invalid range ${offset}+${length}`);
    }
    if (offset + length > this.bytes.byteLength) {
      throw new ElfError(
        'ELF_TRUNCATED',
        `${what}: range ${offset}+${length} exceeds file size ${this.bytes.byteLength}`,
      );
    }
  }

  u8(offset: number): number {
    this.check(offset, 1, 'u8');
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    this.check(offset, 2, 'u16');
    return this.view.getUint16(offset, this.littleEndian);
  }
  u32(offset: number): number {
    this.check(offset, 4, 'u32');
    return this.view.getUint32(offset, this.littleEndian);
  }
  u64(offset: number): bigint {
    this.check(offset, 8, 'u64');
    return this.view.getBigUint64(offset, this.littleEndian);
  }
  /**
   * A 64-bit size or offset that must fit a JS number to be usable as an index. Read as two u32
   * halves: no BigInt per field (section headers of ~4,000 modules per package are read this way).
   */
  u64Number(offset: number, what: string): number {
    this.check(offset, 8, what);
    const lo = this.view.getUint32(this.littleEndian ? offset : offset + 4, this.littleEndian);
    const hi = this.view.getUint32(this.littleEndian ? offset + 4 : offset, this.littleEndian);
    if (hi > 0x1fffff) {
      throw new ElfError('ELF_MALFORMED', `${what}: value ${this.u64(offset)} too large`);
    }
    return hi * 0x100000000 + lo;
  }
  slice(offset: number, length: number, what: string): Uint8Array {
    this.check(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
}
