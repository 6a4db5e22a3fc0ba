// btf__distill_base (libbpf src/btf.c, 1.5+; what pahole 1.28+ runs for --btf_features=distilled_base):
// split BTF over a full base becomes split BTF over a small "distilled" base that only names what the
// split needs — named INT/FLOAT/FWD as they are, named STRUCT/UNION as memberless types of the same
// size, named ENUM/ENUM64 as a memberless ENUM of the same size — with every other referenced base
// type (pointers, arrays, typedefs, anonymous composites, ...) copied to the end of the split.
// Calls are made in libbpf's order and strings are interned its way, so the bytes equal libbpf's.

import { Btf, type TypeId } from './btf.ts';
import { BtfBuilder } from './builder.ts';
import { BtfError, BtfRelocationError, EINVAL } from './errors.ts';
import { visitStringFields, visitTypeIdFields } from './fields.ts';
import { Kind } from './wire.ts';

export interface Distilled {
  /** The distilled base (a standalone base blob: what pahole writes to .BTF.base). */
  readonly base: Btf;
  /** The split types over `base` (what pahole writes to .BTF). */
  readonly split: Btf;
}

function distillError(message: string): BtfRelocationError {
  return new BtfRelocationError(message, EINVAL);
}

/** Distill `split`'s base. `split` must be split BTF parsed over its full base. */
export function distillBase(split: Btf): Distilled {
  const old = split.base;
  if (!old) throw distillError('distillBase needs split BTF (parsed with its base)');
  const n = split.nrTypes;
  const splitStart = old.nrTypes;
  const { view } = split;
  const le = split.header.littleEndian;

  // Which base ids the split needs: every referenced base type, and what those reference in turn,
  // except that a named struct/union stops the walk (the distilled one has no members).
  const used = new Uint8Array(splitStart);
  const work: TypeId[] = [];
  const take = (src: Btf, from: TypeId) => (fieldAt: number) => {
    const v = src.view.getUint32(fieldAt, src.header.littleEndian);
    if (v === 0 || v >= splitStart || used[v]) return;
    const t = split.raw(v);
    switch (t.kind) {
      case Kind.Int:
      case Kind.Float:
      case Kind.Fwd:
      case Kind.Array:
      case Kind.Struct:
      case Kind.Union:
      case Kind.Typedef:
      case Kind.Enum:
      case Kind.Enum64:
      case Kind.Ptr:
      case Kind.Const:
      case Kind.Restrict:
      case Kind.Volatile:
      case Kind.FuncProto:
      case Kind.TypeTag:
        break;
      default:
        throw distillError(
          `type [${from}]: unexpected reference to base type [${v}] of kind [${t.kind}] when creating distilled base BTF`,
        );
    }
    used[v] = 1;
    if ((t.kind === Kind.Struct || t.kind === Kind.Union) && t.nameOff) return;
    work.push(v);
  };
  for (let id = splitStart; id < n; id++) {
    visitTypeIdFields(view, le, split.recordOffset(id), take(split, id));
    while (work.length > 0) {
      const b = work.pop() as TypeId;
      const owner = old.owner(b) ?? old;
      visitTypeIdFields(owner.view, owner.header.littleEndian, owner.recordOffset(b), take(owner, b));
    }
  }

  // Where each used base type goes: the distilled base (in base id order) or the end of the split.
  const oldView = old.view;
  const oldLe = old.header.littleEndian;
  const inBase = (id: TypeId): boolean => {
    const t = old.raw(id);
    switch (t.kind) {
      case Kind.Int:
      case Kind.Float:
      case Kind.Fwd:
        return true;
      case Kind.Struct:
      case Kind.Union:
      case Kind.Enum:
      case Kind.Enum64:
        return t.nameOff !== 0;
      default:
        return false;
    }
  };
  const idMap = new Uint32Array(splitStart);
  let nextBase = 1;
  for (let id = 1; id < splitStart; id++) if (used[id] && inBase(id)) idMap[id] = nextBase++;
  const newBaseNr = nextBase;
  let nextSplit = newBaseNr + (n - splitStart);
  for (let id = 1; id < splitStart; id++) if (used[id] && !inBase(id)) idMap[id] = nextSplit++;
  const diffId = splitStart - newBaseNr;
  const mapId = (v: number): number => {
    if (v < splitStart) return v === 0 ? 0 : (idMap[v] as number) || v;
    if (v >= n) throw new BtfError('BTF_BAD_REFERENCE', `invalid referenced type id ${v}`);
    return v - diffId;
  };

  const baseBuilder = new BtfBuilder({ littleEndian: le });
  for (let id = 1; id < splitStart; id++) {
    if (!used[id] || !inBase(id)) continue;
    const t = old.raw(id);
    const name = t.nameOff ? old.strings.rawBytes(t.nameOff) : new Uint8Array(0);
    switch (t.kind) {
      case Kind.Int:
      case Kind.Float:
      case Kind.Fwd:
        baseBuilder.raw(copyRecord(old, id, oldView, oldLe, baseBuilder, mapId));
        break;
      case Kind.Struct:
      case Kind.Union:
        baseBuilder.raw([baseBuilder.stringBytes(name), t.kind << 24, t.sizeOrType]);
        break;
      default: {
        // btf__add_enum refuses sizes that are not 1, 2, 4 or 8.
        const size = t.sizeOrType;
        if (!size || (size & (size - 1)) !== 0 || size > 8) {
          throw distillError(`base type [${id}]: enum size ${size} cannot be distilled`);
        }
        baseBuilder.raw([baseBuilder.stringBytes(name), Kind.Enum << 24, size]);
      }
    }
  }
  const baseBytes = baseBuilder.build();

  const splitBuilder = new BtfBuilder({ base: baseBuilder, littleEndian: le });
  for (let id = splitStart; id < n; id++)
    splitBuilder.raw(copyRecord(split, id, view, le, splitBuilder, mapId));
  for (let id = 1; id < splitStart; id++) {
    if (used[id] && !inBase(id)) splitBuilder.raw(copyRecord(old, id, oldView, oldLe, splitBuilder, mapId));
  }
  const base = Btf.parse(baseBytes);
  return { base, split: Btf.parse(splitBuilder.build(), base) };
}

/** A record's words with names re-interned into `dst` and type ids mapped. */
function copyRecord(
  src: Btf,
  id: TypeId,
  view: DataView,
  le: boolean,
  dst: BtfBuilder,
  mapId: (v: number) => number,
): number[] {
  const raw = src.raw(id);
  const at = raw.offset;
  const words: number[] = [];
  for (let w = 0; w < raw.byteLength / 4; w++) words.push(view.getUint32(at + 4 * w, le));
  visitStringFields(view, le, at, (fieldAt) => {
    const w = (fieldAt - at) / 4;
    const off = words[w] as number;
    if (off === 0) return;
    if (!src.strings.isValidOffset(off))
      throw new BtfError('BTF_BAD_REFERENCE', `type [${id}]: string offset ${off} outside the strings`);
    words[w] = dst.stringBytes(src.strings.rawBytes(off));
  });
  visitTypeIdFields(view, le, at, (fieldAt) => {
    const w = (fieldAt - at) / 4;
    words[w] = mapId(words[w] as number);
  });
  return words;
}
