import type { Btf, TypeId } from './btf.ts';
import { BtfError } from './errors.ts';
import {
  Array as ArrayType,
  Const,
  Datasec,
  DeclTag,
  Enum,
  Enum64,
  Float,
  Func,
  FuncProto,
  Fwd,
  Int,
  Ptr,
  Restrict,
  Struct,
  Typedef,
  TypeTag,
  Union,
  Var,
  Void,
  Volatile,
  type Type,
} from './types.ts';
import { BTF_TYPE_SIZE, Kind, infoKind } from './wire.ts';

/**
 * Build the model object for a type held locally by `btf` (id in [startId, nrTypes)). Fixed fields
 * are read now; variable-length parts stay as an offset until first asked for. The record's bounds
 * were checked when the blob was indexed, so every read here is inside the type section.
 *
 * Objects are made from their class's prototype rather than with `new`: under tsx (esbuild's
 * keepNames redefines each class's `name`) constructing a derived class is several times slower,
 * which showed on the 100k types of a vmlinux. The fields set here are exactly the constructors'.
 */
export function decodeType(btf: Btf, id: TypeId): Type {
  const at = btf.recordOffset(id);
  const { view } = btf;
  const le = btf.header.littleEndian;
  const nameOff = view.getUint32(at, le);
  const info = view.getUint32(at + 4, le);
  const sizeOrType = view.getUint32(at + 8, le);
  const trailing = at + BTF_TYPE_SIZE;
  const kind = infoKind(info);
  let t: Fields;
  switch (kind) {
    case Kind.Int:
      t = make(Int.prototype, btf, id, nameOff, info);
      t.size = sizeOrType;
      t.data = view.getUint32(trailing, le);
      break;
    case Kind.Ptr:
    case Kind.Typedef:
    case Kind.Volatile:
    case Kind.Const:
    case Kind.Restrict:
    case Kind.TypeTag:
      t = make(REF_PROTOS[kind] as object, btf, id, nameOff, info);
      t.typeId = sizeOrType;
      break;
    case Kind.Array:
      t = make(ArrayType.prototype, btf, id, nameOff, info);
      t.typeId = view.getUint32(trailing, le);
      t.indexTypeId = view.getUint32(trailing + 4, le);
      t.nelems = view.getUint32(trailing + 8, le);
      break;
    case Kind.Struct:
    case Kind.Union:
    case Kind.Enum:
    case Kind.Enum64:
    case Kind.Datasec:
      t = make(SIZED_PROTOS[kind] as object, btf, id, nameOff, info);
      t.size = sizeOrType;
      t.trailing = trailing;
      break;
    case Kind.Fwd:
      t = make(Fwd.prototype, btf, id, nameOff, info);
      break;
    case Kind.Func:
      t = make(Func.prototype, btf, id, nameOff, info);
      t.typeId = sizeOrType;
      break;
    case Kind.FuncProto:
      t = make(FuncProto.prototype, btf, id, nameOff, info);
      t.returnTypeId = sizeOrType;
      t.trailing = trailing;
      break;
    case Kind.Var:
      t = make(Var.prototype, btf, id, nameOff, info);
      t.typeId = sizeOrType;
      t.linkage = view.getUint32(trailing, le);
      break;
    case Kind.Float:
      t = make(Float.prototype, btf, id, nameOff, info);
      t.size = sizeOrType;
      break;
    case Kind.DeclTag:
      t = make(DeclTag.prototype, btf, id, nameOff, info);
      t.typeId = sizeOrType;
      t.componentIdx = view.getInt32(trailing, le);
      break;
    default:
      // Unreachable for a parsed blob: indexTypes rejects kinds it cannot size.
      throw new BtfError('BTF_UNSUPPORTED', `type [${id}]: unknown kind ${kind}`);
  }
  return t as unknown as Type;
}

/** Id 0 of `btf`'s id space. */
export function voidType(btf: Btf): Void {
  return make(Void.prototype, btf, 0, 0, 0) as unknown as Void;
}

type Fields = Record<string, unknown>;

function make(proto: object, btf: Btf, id: TypeId, nameOff: number, info: number): Fields {
  const o = Object.create(proto) as Fields;
  o.btf = btf;
  o.id = id;
  o.nameOff = nameOff;
  o.info = info;
  return o;
}

const REF_PROTOS: Partial<Record<Kind, object>> = {
  [Kind.Ptr]: Ptr.prototype,
  [Kind.Typedef]: Typedef.prototype,
  [Kind.Volatile]: Volatile.prototype,
  [Kind.Const]: Const.prototype,
  [Kind.Restrict]: Restrict.prototype,
  [Kind.TypeTag]: TypeTag.prototype,
};

const SIZED_PROTOS: Partial<Record<Kind, object>> = {
  [Kind.Struct]: Struct.prototype,
  [Kind.Union]: Union.prototype,
  [Kind.Enum]: Enum.prototype,
  [Kind.Enum64]: Enum64.prototype,
  [Kind.Datasec]: Datasec.prototype,
};
