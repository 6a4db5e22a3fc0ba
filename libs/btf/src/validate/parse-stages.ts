import { E2BIG, EINVAL, ELOOP, ENOTSUPP, type ValidationCode } from './errors.ts';
import type { KernelLog } from './kernel-log.ts';
import type { KernelBtf } from './kernel-btf.ts';
import {
  BTF_HEADER_SIZE,
  BTF_LAYOUT_HEADER_SIZE,
  BTF_MAGIC,
  BTF_MAX_NAME_OFFSET,
  BTF_VERSION,
  HDR,
  type BtfHeader,
} from '../wire.ts';

// btf_parse_hdr, btf_parse_str_sec and the modifier-chain pass of kernel/bpf/btf.c. Each returns the
// first failure (after logging what the kernel logs) or undefined.

export interface StageFailure {
  code: ValidationCode;
  errno: number;
  message: string;
  typeId?: number;
}

function failed(log: KernelLog, code: ValidationCode, message: string, errno = EINVAL): StageFailure {
  log.vlog(message);
  return { code, errno, message };
}

/** btf_parse_hdr + btf_check_sec_info. Fills `btf.header` the way the kernel copies it. */
export function parseHeader(btf: KernelBtf, log: KernelLog): StageFailure | undefined {
  const size = btf.data.byteLength;
  if (size < HDR.hdrLen + 4) return failed(log, 'HDR_LEN_NOT_FOUND', 'hdr_len not found');
  const hdrLen = btf.u32(HDR.hdrLen);
  if (size < hdrLen) return failed(log, 'HDR_NOT_FOUND', 'btf_header not found');
  const known = btf.features.layoutSection ? BTF_LAYOUT_HEADER_SIZE : BTF_HEADER_SIZE;
  for (let i = known; i < hdrLen; i++) {
    if (btf.data[i] !== 0) return failed(log, 'HDR_UNSUPPORTED', 'Unsupported btf_header', E2BIG);
  }
  // memcpy(&btf->hdr, data, min(hdr_len, sizeof(hdr))) into a zeroed struct.
  const copy = Math.min(hdrLen, known);
  const word = (at: number) => (at + 4 <= copy ? btf.u32(at) : 0);
  const header: BtfHeader = {
    magic: copy >= 2 ? btf.view.getUint16(HDR.magic, btf.littleEndian) : 0,
    version: copy >= 3 ? (btf.data[HDR.version] ?? 0) : 0,
    flags: copy >= 4 ? (btf.data[HDR.flags] ?? 0) : 0,
    hdrLen,
    typeOff: word(HDR.typeOff),
    typeLen: word(HDR.typeLen),
    strOff: word(HDR.strOff),
    strLen: word(HDR.strLen),
    layoutOff: word(HDR.layoutOff),
    layoutLen: word(HDR.layoutLen),
    littleEndian: btf.littleEndian,
  };
  btf.header = header;
  if (header.magic !== BTF_MAGIC) return failed(log, 'BAD_MAGIC', 'Invalid magic');
  if (header.version !== BTF_VERSION) return failed(log, 'BAD_VERSION', 'Unsupported version', ENOTSUPP);
  if (header.flags) return failed(log, 'BAD_FLAGS', 'Unsupported flags', ENOTSUPP);
  if (!btf.base && size === hdrLen) return failed(log, 'NO_DATA', 'No data');
  return checkSections(btf, log, size);
}

/** btf_check_sec_info: sections sorted by offset must tile the data after the header exactly. */
function checkSections(btf: KernelBtf, log: KernelLog, size: number): StageFailure | undefined {
  const h = btf.header;
  const secs = [
    { off: h.typeOff, len: h.typeLen },
    { off: h.strOff, len: h.strLen },
  ];
  if (btf.features.layoutSection && h.hdrLen >= BTF_LAYOUT_HEADER_SIZE && h.layoutLen !== 0)
    secs.push({ off: h.layoutOff, len: h.layoutLen });
  // The kernel's comparator subtracts u32s and casts to int.
  secs.sort((x, y) => (x.off - y.off) | 0 || (x.len - y.len) | 0);
  let total = 0;
  const expected = (size - h.hdrLen) >>> 0;
  for (const sec of secs) {
    if (expected < sec.off) return failed(log, 'SECTION_OFFSET', 'Invalid section offset');
    if (total < sec.off) return failed(log, 'SECTION_GAP', 'Unsupported section found');
    if (total > sec.off) return failed(log, 'SECTION_OVERLAP', 'Section overlap found');
    if (expected - total < sec.len) return failed(log, 'SECTION_TOO_LONG', 'Total section length too long');
    total += sec.len;
  }
  if (expected !== total) return failed(log, 'SECTION_GAP', 'Unsupported section found');
  return undefined;
}

/** btf_parse_str_sec: split BTF may have no strings; otherwise NUL-terminated, and a base's starts with "". */
export function parseStrings(btf: KernelBtf, log: KernelLog): StageFailure | undefined {
  const h = btf.header;
  const end = h.hdrLen + h.strOff + h.strLen;
  const oldHeader = !btf.features.layoutSection || h.hdrLen < BTF_LAYOUT_HEADER_SIZE;
  if (oldHeader && end !== btf.data.byteLength) {
    return failed(log, 'STRINGS_NOT_AT_END', 'String section is not at the end');
  }
  if (btf.base && !h.strLen) return undefined;
  if (!h.strLen || h.strLen - 1 > BTF_MAX_NAME_OFFSET || btf.data[end - 1] !== 0) {
    return failed(log, 'BAD_STRINGS', 'Invalid string section');
  }
  if (!btf.base && btf.data[btf.stringsStart] !== 0)
    return failed(log, 'BAD_STRINGS', 'Invalid string section');
  return undefined;
}

/** TYPEDEF VOLATILE CONST RESTRICT TYPE_TAG, as a bit per kind. */
const MODIFIERS = (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 18);
const TYPE_TAG = 18;
const isModifier = (kind: number) => ((MODIFIERS >>> kind) & 1) === 1;

/**
 * btf_check_type_tags (5.17+): every modifier chain starting in this blob is at most 32 long, and type
 * tags come before any other modifier. 7.x keeps only the length part (btf_check_modifier_chain_length).
 * A chain that leaves the id space fails with -EINVAL and no log line.
 */
export function checkModifierChains(btf: KernelBtf, log: KernelLog): StageFailure | undefined {
  const mode = btf.features.modifierChainCheck;
  if (mode === 'none') return undefined;
  let goodId = btf.startId - 1;
  const n = btf.totalTypes;
  for (let i = btf.startId; i < n; i++) {
    let info = btf.typeInfo(i);
    if (info < 0)
      return { code: 'DANGLING_MODIFIER', errno: EINVAL, message: `type [${i}] not found`, typeId: i };
    let kind = btf.kindOf(info);
    if (!isModifier(kind)) continue;
    let chainLimit = 32;
    let curId = i;
    let inTags = kind === TYPE_TAG;
    while (isModifier(kind)) {
      if (!chainLimit--) {
        log.vlog('Max chain length or cycle detected');
        return {
          code: 'MODIFIER_LOOP',
          errno: ELOOP,
          message: 'Max chain length or cycle detected',
          typeId: i,
        };
      }
      if (mode === 'type-tags') {
        if (kind === TYPE_TAG) {
          if (!inTags) {
            log.vlog("Type tags don't precede modifiers");
            return {
              code: 'TYPE_TAG_ORDER',
              errno: EINVAL,
              message: "Type tags don't precede modifiers",
              typeId: i,
            };
          }
        } else {
          inTags = false;
        }
      }
      if (curId <= goodId) break;
      const next = btf.typeRef(curId);
      curId = next;
      info = btf.typeInfo(curId);
      if (info < 0) {
        // btf_type_by_id returned NULL: -EINVAL without a log line.
        return {
          code: 'DANGLING_MODIFIER',
          errno: EINVAL,
          message: `modifier chain from [${i}] reaches type [${curId}], which does not exist`,
          typeId: i,
        };
      }
      kind = btf.kindOf(info);
    }
    goodId = i;
  }
  return undefined;
}
