// `bpftool btf dump file FILE format raw`, reproduced byte for byte (bpftool 7.1 / libbpf 1.1, as
// Debian 12 ships it: tools/bpf/bpftool/btf.c dump_btf_type). It is a faithful dump: names are
// printed from whatever the offset points at, so split BTF read against the wrong base shows the
// same garbage bpftool shows.

import type { Btf, TypeId } from './btf.ts';
import type { Type } from './types.ts';
import { KIND_NAMES, Kind } from './wire.ts';

/** The raw dump of every type held locally (for split BTF: the split types only, as bpftool does). */
export function dumpRaw(btf: Btf): string {
  const out: string[] = [];
  for (let id = btf.startId; id < btf.nrTypes; id++) out.push(formatRawType(btf, id));
  return out.join('');
}

/** One type as bpftool prints it, including the trailing newline. */
export function formatRawType(btf: Btf, id: TypeId): string {
  const t = btf.type(id);
  let line = `[${id}] ${KIND_NAMES[t.kind]} '${nameOrAnon(btf, t.nameOff)}'`;
  switch (t.kind) {
    case Kind.Int:
      line += ` size=${t.size} bits_offset=${t.bitsOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
      break;
    case Kind.Ptr:
    case Kind.Const:
    case Kind.Volatile:
    case Kind.Restrict:
    case Kind.Typedef:
    case Kind.TypeTag:
      line += ` type_id=${t.typeId}`;
      break;
    case Kind.Array:
      line += ` type_id=${t.typeId} index_type_id=${t.indexTypeId} nr_elems=${t.nelems}`;
      break;
    case Kind.Struct:
    case Kind.Union:
      line += ` size=${t.size} vlen=${t.vlen}`;
      for (const m of t.members) {
        line += `\n\t'${nameOrAnon(btf, m.nameOff)}' type_id=${m.typeId} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) line += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case Kind.Enum:
      line += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.vlen}`;
      for (const v of t.values) line += `\n\t'${nameOrAnon(btf, v.nameOff)}' val=${v.value}`;
      break;
    case Kind.Enum64:
      line += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.vlen}`;
      for (const v of t.values)
        line += `\n\t'${nameOrAnon(btf, v.nameOff)}' val=${v.value}${t.signed ? 'LL' : 'ULL'}`;
      break;
    case Kind.Fwd:
      line += ` fwd_kind=${t.fwdKind}`;
      break;
    case Kind.Func:
      line += ` type_id=${t.typeId} linkage=${linkageName(t.linkage)}`;
      break;
    case Kind.FuncProto:
      line += ` ret_type_id=${t.returnTypeId} vlen=${t.vlen}`;
      for (const p of t.params) line += `\n\t'${nameOrAnon(btf, p.nameOff)}' type_id=${p.typeId}`;
      break;
    case Kind.Var:
      // bpftool prints a comma here and nowhere else.
      line += ` type_id=${t.typeId}, linkage=${linkageName(t.linkage)}`;
      break;
    case Kind.Datasec:
      line += ` size=${t.size} vlen=${t.vlen}`;
      for (const v of t.vars) {
        line += `\n\ttype_id=${v.typeId} offset=${v.offset} size=${v.size}`;
        // bpftool names the variable only when the id is inside the type space (0 is libbpf's void).
        if (v.typeId < btf.nrTypes)
          line += ` (${kindLabel(btf.type(v.typeId))} '${nameOrAnon(btf, btf.type(v.typeId).nameOff)}')`;
      }
      break;
    case Kind.Float:
      line += ` size=${t.size}`;
      break;
    case Kind.DeclTag:
      line += ` type_id=${t.typeId} component_idx=${t.componentIdx}`;
      break;
    case Kind.Unknown:
      break;
  }
  return line + '\n';
}

/** libbpf's void is an all-zero record: kind 0, printed as UNKNOWN. */
function kindLabel(t: Type): string {
  return KIND_NAMES[t.kind];
}

/** bpftool's btf_str: "(anon)" for offset 0, "(invalid)" when libbpf cannot resolve the offset. */
function nameOrAnon(btf: Btf, off: number): string {
  if (off === 0) return '(anon)';
  return btf.strings.isValidOffset(off) ? btf.strings.get(off) : '(invalid)';
}

function intEncoding(encoding: number): string {
  switch (encoding) {
    case 0:
      return '(none)';
    case 1:
      return 'SIGNED';
    case 2:
      return 'CHAR';
    case 4:
      return 'BOOL';
    default:
      return 'UNKN';
  }
}

/** Same table for FUNC (vlen) and VAR (linkage word) in bpftool. */
function linkageName(linkage: number): string {
  switch (linkage) {
    case 0:
      return 'static';
    case 1:
      return 'global';
    case 2:
      return 'extern';
    default:
      return '(unknown)';
  }
}
