// Visitors over the words of a record that are type ids and string offsets, in libbpf's btf_field_iter
// order (src/btf_iter.c). Every analysis that walks references (refs, diff, hashes, relocation,
// distillation) goes through here so they agree on what a reference is; the offsets come from wire.ts.

import {
  BTF_TYPE_SIZE,
  infoKind,
  infoVlen,
  namedEntryStride,
  typeIdFieldCount,
  typeIdFieldOffset,
} from './wire.ts';

/**
 * Call `visit(fieldAt)` with the byte offset (within `view`) of every type-id field of the record at
 * `at`. Like libbpf, FWD's size/type word counts as an id field (it is 0 in valid BTF).
 */
export function visitTypeIdFields(
  view: DataView,
  le: boolean,
  at: number,
  visit: (fieldAt: number) => void,
): void {
  const info = view.getUint32(at + 4, le);
  const kind = infoKind(info);
  const n = typeIdFieldCount(kind, infoVlen(info));
  for (let k = 0; k < n; k++) visit(at + typeIdFieldOffset(kind, k));
}

/** Call `visit(fieldAt)` for every string-offset field: the name, then member/param/enum-value names. */
export function visitStringFields(
  view: DataView,
  le: boolean,
  at: number,
  visit: (fieldAt: number) => void,
): void {
  visit(at);
  const info = view.getUint32(at + 4, le);
  const stride = namedEntryStride(infoKind(info));
  if (stride === 0) return;
  const vlen = infoVlen(info);
  for (let i = 0, p = at + BTF_TYPE_SIZE; i < vlen; i++, p += stride) visit(p);
}

/** True when word `index` of a record (0 = name_off) holds a string offset. */
export function isStringWord(kind: number, index: number): boolean {
  if (index === 0) return true;
  const t = index - 3;
  if (t < 0) return false;
  const stride = namedEntryStride(kind);
  return stride !== 0 && (4 * t) % stride === 0;
}
