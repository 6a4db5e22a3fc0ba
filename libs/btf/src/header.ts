import { BtfError } from './errors.ts';
import { BTF_HEADER_SIZE, BTF_MAGIC, HDR, magicByteOrder, type BtfHeader } from './wire.ts';

/** @deprecated the same type: `BtfHeader` (wire.ts). */
export type ParsedHeader = BtfHeader;

/**
 * Structural header checks (libbpf's btf_parse_hdr level): magic in either byte order, sizes inside the
 * buffer. Kernel-specific rules (version, flags, hdr_len tail, section order) live in the validator.
 */
export function parseHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.byteLength < BTF_HEADER_SIZE) {
    throw new BtfError('BTF_TRUNCATED', `BTF of ${bytes.byteLength} bytes is shorter than its header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = magicByteOrder(bytes);
  if (littleEndian === null)
    throw new BtfError('BTF_BAD_MAGIC', `bad BTF magic 0x${view.getUint16(0, true).toString(16)}`);

  const header: BtfHeader = {
    littleEndian,
    magic: BTF_MAGIC,
    version: view.getUint8(HDR.version),
    flags: view.getUint8(HDR.flags),
    hdrLen: view.getUint32(HDR.hdrLen, littleEndian),
    typeOff: view.getUint32(HDR.typeOff, littleEndian),
    typeLen: view.getUint32(HDR.typeLen, littleEndian),
    strOff: view.getUint32(HDR.strOff, littleEndian),
    strLen: view.getUint32(HDR.strLen, littleEndian),
    // Userspace (libbpf 1.x, pahole) knows only the 24-byte header: a layout section is not read here.
    layoutOff: 0,
    layoutLen: 0,
  };
  if (header.hdrLen < BTF_HEADER_SIZE || header.hdrLen > bytes.byteLength) {
    throw new BtfError(
      'BTF_BAD_HEADER',
      `hdr_len ${header.hdrLen} outside [${BTF_HEADER_SIZE}, ${bytes.byteLength}]`,
    );
  }
  const data = bytes.byteLength - header.hdrLen;
  // Sums are done in float64, which is exact for any pair of u32 values.
  if (header.typeOff + header.typeLen > data) {
    throw new BtfError(
      'BTF_TRUNCATED',
      `type section ${header.typeOff}+${header.typeLen} exceeds data of ${data} bytes`,
    );
  }
  if (header.strOff + header.strLen > data) {
    throw new BtfError(
      'BTF_TRUNCATED',
      `string section ${header.strOff}+${header.strLen} exceeds data of ${data} bytes`,
    );
  }
  if (header.typeOff % 4 !== 0)
    throw new BtfError('BTF_BAD_HEADER', `type_off ${header.typeOff} is not 4-byte aligned`);
  return header;
}
