// Which words of a record are type ids and which are string offsets, in libbpf's btf_field_iter
// order (src/btf_iter.c): the common record's field first, then each vlen entry's. Every analysis
// that walks references (refs, diff, hashes, relocation, distillation) goes through here so they
// agree on what a reference is.

import { BTF_TYPE_SIZE, Kind, infoKind, infoVlen } from './wire.ts';

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
  const vlen = infoVlen(info);
  const tail = at + BTF_TYPE_SIZE;
  switch (infoKind(info)) {
    case Kind.Fwd:
    case Kind.Const:
    case Kind.Volatile:
    case Kind.Restrict:
    case Kind.Ptr:
    case Kind.Typedef:
    case Kind.Func:
    case Kind.Var:
    case Kind.DeclTag:
    case Kind.TypeTag:
      visit(at + 8);
      return;
    case Kind.Array:
      visit(tail);
      visit(tail + 4);
      return;
    case Kind.Struct:
    case Kind.Union:
      for (let i = 0, p = tail + 4; i < vlen; i++, p += 12) visit(p);
      return;
    case Kind.FuncProto:
      visit(at + 8);
      for (let i = 0, p = tail + 4; i < vlen; i++, p += 8) visit(p);
      return;
    case Kind.Datasec:
      for (let i = 0, p = tail; i < vlen; i++, p += 12) visit(p);
      return;
    default:
      return;
  }
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
  const vlen = infoVlen(info);
  const tail = at + BTF_TYPE_SIZE;
  let stride: number;
  switch (infoKind(info)) {
    case Kind.Struct:
    case Kind.Union:
    case Kind.Enum64:
      stride = 12;
      break;
    case Kind.Enum:
    case Kind.FuncProto:
      stride = 8;
      break;
    default:
      return;
  }
  for (let i = 0, p = tail; i < vlen; i++, p += stride) visit(p);
}

/** True when word `index` of a record (0 = name_off) holds a string offset. */
export function isStringWord(kind: number, index: number): boolean {
  if (index === 0) return true;
  const t = index - 3;
  if (t < 0) return false;
  switch (kind) {
    case Kind.Struct:
    case Kind.Union:
    case Kind.Enum64:
      return t % 3 === 0;
    case Kind.Enum:
    case Kind.FuncProto:
      return t % 2 === 0;
    default:
      return false;
  }
}
