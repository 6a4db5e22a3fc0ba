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
  Volatile,
  type Type,
} from './types.ts';
import { BTF_TYPE_SIZE, Kind, infoKind } from './wire.ts';

/**
 * Build the model object for a type held locally by `btf` (id in [startId, nrTypes)). Fixed fields
 * are read now; variable-length parts stay as an offset until first asked for. The record's bounds
 * were checked when the blob was indexed, so every read here is inside the type section.
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
  switch (kind) {
    case Kind.Int:
      return new Int(btf, id, nameOff, info, sizeOrType, view.getUint32(trailing, le));
    case Kind.Ptr:
      return new Ptr(btf, id, nameOff, info, sizeOrType);
    case Kind.Array:
      return new ArrayType(
        btf,
        id,
        nameOff,
        info,
        view.getUint32(trailing, le),
        view.getUint32(trailing + 4, le),
        view.getUint32(trailing + 8, le),
      );
    case Kind.Struct:
      return new Struct(btf, id, nameOff, info, sizeOrType, trailing);
    case Kind.Union:
      return new Union(btf, id, nameOff, info, sizeOrType, trailing);
    case Kind.Enum:
      return new Enum(btf, id, nameOff, info, sizeOrType, trailing);
    case Kind.Fwd:
      return new Fwd(btf, id, nameOff, info);
    case Kind.Typedef:
      return new Typedef(btf, id, nameOff, info, sizeOrType);
    case Kind.Volatile:
      return new Volatile(btf, id, nameOff, info, sizeOrType);
    case Kind.Const:
      return new Const(btf, id, nameOff, info, sizeOrType);
    case Kind.Restrict:
      return new Restrict(btf, id, nameOff, info, sizeOrType);
    case Kind.Func:
      return new Func(btf, id, nameOff, info, sizeOrType);
    case Kind.FuncProto:
      return new FuncProto(btf, id, nameOff, info, sizeOrType, trailing);
    case Kind.Var:
      return new Var(btf, id, nameOff, info, sizeOrType, view.getUint32(trailing, le));
    case Kind.Datasec:
      return new Datasec(btf, id, nameOff, info, sizeOrType, trailing);
    case Kind.Float:
      return new Float(btf, id, nameOff, info, sizeOrType);
    case Kind.DeclTag:
      return new DeclTag(btf, id, nameOff, info, sizeOrType, view.getInt32(trailing, le));
    case Kind.TypeTag:
      return new TypeTag(btf, id, nameOff, info, sizeOrType);
    case Kind.Enum64:
      return new Enum64(btf, id, nameOff, info, sizeOrType, trailing);
    default:
      // Unreachable for a parsed blob: indexTypes rejects kinds it cannot size.
      throw new BtfError('BTF_UNSUPPORTED', `type [${id}]: unknown kind ${kind}`);
  }
}
