// Relocating split BTF generated against a distilled base (.BTF.base) onto a full base, with the
// semantics of libbpf's btf__relocate (src/btf_relocate.c, shared with the kernel since 6.11, which
// uses it to load module BTF that carries .BTF.base). Each distilled base type is matched to the
// full base by kind + name (+ size where libbpf requires it); split ids are shifted by the difference
// in base sizes; name offsets into the distilled strings are mapped to the matched base names, the
// split's own offsets shifted by the difference in string section sizes.

import { Buffer } from 'node:buffer';
import { Btf, type TypeId } from './btf.ts';
import { BtfError, BtfRelocationError, EINVAL, ENOENT } from './errors.ts';
import { visitStringFields, visitTypeIdFields } from './fields.ts';
import { Kind, infoKindFlag } from './wire.ts';

/** id_map marker: a distilled struct/union is embedded by value in a split composite, so size must match. */
const EMBEDDED = 0xffffffff;

export interface Relocation {
  /** The split types, now on the full base. */
  readonly btf: Btf;
  /** For every id of the distilled space (distilled base + split), its id on the full base. */
  readonly idMap: Uint32Array;
}

function relocationError(message: string, errno = EINVAL, printed = true): BtfRelocationError {
  return new BtfRelocationError(message, errno, printed);
}

/** A precondition btf_relocate() checks silently (plain -EINVAL), or one only a caller of ours can break. */
function silentError(message: string): BtfRelocationError {
  return relocationError(message, EINVAL, false);
}

/**
 * Relocate `split` (parsed over its distilled base) onto `base`. Throws BTF_RELOCATION naming the
 * distilled type that has no (or no unique) match, as libbpf's pr_warn does.
 */
export function relocateSplit(split: Btf, base: Btf): Relocation {
  const dist = split.base;
  if (!dist || dist === base)
    throw silentError('relocation needs split BTF over a distilled base, and a different base');
  if (dist.isSplit || base.isSplit) throw silentError('distilled base and target base must both be base BTF');
  if (
    dist.header.littleEndian !== split.header.littleEndian ||
    base.header.littleEndian !== split.header.littleEndian
  ) {
    throw silentError('split BTF, distilled base and base differ in byte order');
  }
  const nrDist = dist.nrTypes;
  const nrBase = base.nrTypes;
  const nrTypes = split.nrTypes;
  const distStrLen = dist.strLen;
  const baseStrLen = base.strLen;

  validateDistilledBase(dist);

  const idMap = new Uint32Array(nrTypes);
  for (let id = nrDist; id < nrTypes; id++) idMap[id] = id + nrBase - nrDist;
  const strMap = new Uint32Array(distStrLen);
  mapDistilledBase(split, dist, base, idMap, strMap);

  const bytes = new Uint8Array(split.bytes);
  const view = new DataView(
    bytes.buffer,
    bytes.byteOffset + split.header.hdrLen + split.header.typeOff,
    split.header.typeLen,
  );
  const le = split.header.littleEndian;
  for (let id = nrDist; id < nrTypes; id++) {
    const at = split.recordOffset(id);
    visitTypeIdFields(view, le, at, (fieldAt) => {
      const v = view.getUint32(fieldAt, le);
      if (v >= nrTypes)
        throw new BtfError('BTF_BAD_REFERENCE', `type [${id}]: invalid referenced type id ${v}`);
      view.setUint32(fieldAt, idMap[v] as number, le);
    });
  }
  for (let id = nrDist; id < nrTypes; id++) {
    const at = split.recordOffset(id);
    visitStringFields(view, le, at, (fieldAt) => {
      const off = view.getUint32(fieldAt, le);
      if (off === 0) return;
      if (off >= distStrLen) {
        view.setUint32(fieldAt, off + baseStrLen - distStrLen, le);
        return;
      }
      const mapped = strMap[off] as number;
      if (!mapped) {
        // libbpf prints the string at the (zero) mapped offset, not the unmapped one: always ''.
        throw relocationError(`string '' [offset ${off}] is not mapped to base BTF`, ENOENT);
      }
      view.setUint32(fieldAt, mapped, le);
    });
  }
  return { btf: Btf.parse(bytes, base), idMap };
}

/** A distilled base holds only named INT, FLOAT, ENUM, STRUCT, UNION and FWD types. */
function validateDistilledBase(dist: Btf): void {
  for (let id = 1; id < dist.nrTypes; id++) {
    const t = dist.raw(id);
    switch (t.kind) {
      case Kind.Int:
      case Kind.Float:
      case Kind.Enum:
      case Kind.Struct:
      case Kind.Union:
      case Kind.Fwd:
        if (t.nameOff) break;
        throw relocationError(
          `type [${id}], kind [${t.kind}] is invalid for distilled base BTF; it is anonymous`,
        );
      default:
        // "based" is btf_relocate.c's own spelling (libbpf 1.5, kernel 6.11+).
        throw relocationError(`type [${id}] in distilled based BTF has unexpected kind [${t.kind}]`);
    }
  }
}

interface NameInfo {
  /** Name bytes read as latin1, so comparison is strcmp's unsigned byte order. */
  name: string;
  needsSize: boolean;
  size: number;
  id: TypeId;
}

/** libbpf's cmp_btf_name_size: by name, then (when both need it) by size, larger first. */
function compareNameSize(a: NameInfo, b: NameInfo): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.needsSize && b.needsSize) return Math.sign(b.size - a.size);
  return 0;
}

/** Leftmost entry of `sorted` equal to `key`, or -1. */
function searchLeftmost(key: NameInfo, sorted: NameInfo[]): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const diff = compareNameSize(key, sorted[mid] as NameInfo);
    if (diff === 0) found = mid;
    if (diff <= 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return found;
}

function nameKey(btf: Btf, off: number): string {
  if (off === 0) return '';
  if (!btf.strings.isValidOffset(off))
    throw new BtfError('BTF_BAD_REFERENCE', `string offset ${off} outside the string section`);
  const raw = btf.strings.rawBytes(off);
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
}

function safeString(btf: Btf, off: number): string {
  return btf.strings.isValidOffset(off) ? btf.strings.get(off) : '(invalid)';
}

/** btf_relocate_map_distilled_base: fill idMap for distilled ids and strMap for their names. */
function mapDistilledBase(split: Btf, dist: Btf, base: Btf, idMap: Uint32Array, strMap: Uint32Array): void {
  const nrDist = dist.nrTypes;
  const info: NameInfo[] = [];
  for (let id = 0; id < nrDist; id++) {
    const t = id === 0 ? undefined : dist.raw(id);
    info.push({ name: t ? nameKey(dist, t.nameOff) : '', id, size: t ? t.sizeOrType : 0, needsSize: true });
  }
  info.sort(compareNameSize);

  // Distilled structs/unions that split composites hold by value (through modifiers, typedefs and
  // arrays, not pointers) must match in size too.
  for (let id = nrDist; id < split.nrTypes; id++) {
    const t = split.raw(id);
    if (t.kind !== Kind.Struct && t.kind !== Kind.Union) continue;
    visitTypeIdFields(split.view, split.header.littleEndian, t.offset, (fieldAt) => {
      let next = split.view.getUint32(fieldAt, split.header.littleEndian);
      // libbpf follows the chain unbounded; a hostile cycle must not hang us.
      for (let steps = 0; next !== 0; steps++) {
        if (steps > split.nrTypes)
          throw new BtfError('BTF_BAD_REFERENCE', `type [${id}]: reference chain loops`);
        if (!split.has(next))
          throw new BtfError('BTF_BAD_REFERENCE', `type [${id}]: invalid referenced type id ${next}`);
        const r = split.raw(next);
        switch (r.kind) {
          case Kind.Const:
          case Kind.Restrict:
          case Kind.Volatile:
          case Kind.Typedef:
          case Kind.TypeTag:
            next = r.sizeOrType;
            break;
          case Kind.Array:
            next = r.trailingU32(0);
            break;
          case Kind.Struct:
          case Kind.Union:
            if (next < nrDist) idMap[next] = EMBEDDED;
            next = 0;
            break;
          default:
            next = 0;
        }
      }
    });
  }

  // Composite names that occur more than once in the base need a size match to pick one.
  const nameCount = new Map<number, number>();
  for (let id = 1; id < base.nrTypes; id++) {
    const t = base.raw(id);
    if ((t.kind !== Kind.Struct && t.kind !== Kind.Union) || !t.nameOff) continue;
    nameCount.set(t.nameOff, Math.min(255, (nameCount.get(t.nameOff) ?? 0) + 1));
  }

  for (let id = 1; id < base.nrTypes; id++) {
    const bt = base.raw(id);
    if (!bt.nameOff) continue;
    const baseKind = bt.kind;
    const key: NameInfo = { id, name: '', needsSize: false, size: 0 };
    switch (baseKind) {
      case Kind.Int:
      case Kind.Float:
      case Kind.Enum:
      case Kind.Enum64:
        key.needsSize = true;
        key.size = bt.sizeOrType;
        break;
      case Kind.Fwd:
        break;
      case Kind.Struct:
      case Kind.Union:
        key.needsSize = (nameCount.get(bt.nameOff) ?? 0) > 1;
        key.size = bt.sizeOrType;
        break;
      default:
        continue;
    }
    key.name = nameKey(base, bt.nameOff);
    for (
      let i = searchLeftmost(key, info);
      i >= 0 && i < info.length && compareNameSize(key, info[i] as NameInfo) === 0;
      i++
    ) {
      const cand = info[i] as NameInfo;
      if (!cand.id || cand.id >= nrDist) {
        throw relocationError(`base BTF id [${id}] maps to invalid distilled base BTF id [${cand.id}]`);
      }
      const dt = dist.raw(cand.id);
      const distKind = dt.kind;
      // Compatibility: a mismatch is not an error, another same-named base type may still match.
      switch (distKind) {
        case Kind.Fwd:
          // Quirk kept from libbpf (btf_relocate.c since 2afe4093, shared with the kernel): against a
          // base STRUCT/UNION it tests the base type's kind_flag — its bitfield encoding — not the
          // FWD's struct/union flag. A union without bitfields never matches a FWD.
          if (baseKind === Kind.Fwd) {
            if (infoKindFlag(dt.info) !== infoKindFlag(bt.info)) continue;
          } else if (baseKind === Kind.Struct) {
            if (bt.kindFlag) continue;
          } else if (baseKind === Kind.Union) {
            if (!bt.kindFlag) continue;
          } else continue;
          break;
        case Kind.Int:
          if (distKind !== baseKind || intEncoding(base, id) !== intEncoding(dist, cand.id)) continue;
          break;
        case Kind.Float:
          if (distKind !== baseKind) continue;
          break;
        case Kind.Enum:
          // Distillation writes ENUM64 as a sized ENUM.
          if (baseKind !== distKind && baseKind !== Kind.Enum64) continue;
          break;
        case Kind.Struct:
        case Kind.Union:
          if (idMap[cand.id] === EMBEDDED && bt.sizeOrType !== dt.sizeOrType) continue;
          break;
        default:
          continue;
      }
      const prior = idMap[cand.id] as number;
      if (prior && prior !== EMBEDDED) {
        throw relocationError(
          `distilled base BTF type '${safeString(base, bt.nameOff)}' [${cand.id}], size ${bt.sizeOrType} has multiple ` +
            `candidates of the same size (ids [${id}, ${prior}]) in base BTF`,
        );
      }
      idMap[cand.id] = id;
      strMap[dt.nameOff] = bt.nameOff;
    }
  }

  for (let id = 1; id < nrDist; id++) {
    const m = idMap[id] as number;
    if (m && m !== EMBEDDED) continue;
    const dt = dist.raw(id);
    throw relocationError(
      `distilled base BTF type '${safeString(dist, dt.nameOff)}' [${id}] is not mapped to base BTF id`,
    );
  }
}

function intEncoding(btf: Btf, id: TypeId): number {
  return (btf.raw(id).trailingU32(0) >>> 24) & 0x0f;
}
