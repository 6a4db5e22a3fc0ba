import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_MASK,
  BTF_INT_SIGNED,
  BTF_MAX_TYPE,
  INFO_CLASSIC,
  KIND_NAMES,
  Kind,
} from '../wire.ts';
import { EINVAL, ENOTSUPP, type ValidationCode } from './errors.ts';
import type { KernelLog } from './kernel-log.ts';
import { binary, type KernelBtf, type StringLocation } from './kernel-btf.ts';
import { validIdentifier, validSectionName, validVarName } from './names.ts';

// The per-kind check_meta callbacks of kernel/bpf/btf.c, in the kernel's order of checks, with the
// lines each failure logs. At BPF_LOG_KERNEL level nothing is printed for types that pass.

const EMPTY_STRING = new Uint8Array(1);
const BTF_FUNC_GLOBAL = 1;
const BTF_VAR_GLOBAL_ALLOCATED = 1;

export interface MetaFailure {
  code: ValidationCode;
  errno: number;
  message: string;
  typeId: number;
  kind?: number;
}

/** A type record being checked: its position and decoded common fields. */
interface Rec {
  at: number;
  id: number;
  nameOff: number;
  info: number;
  kind: number;
  vlen: number;
  kflag: boolean;
  /** size or type, depending on kind. */
  st: number;
}

const typeIdValid = (id: number) => id <= BTF_MAX_TYPE;
const roundupBytes = (bits: number) => (bits >>> 3) + ((bits & 7) !== 0 ? 1 : 0);
const isPow2 = (n: number) => n !== 0 && (n & (n - 1)) === 0;

export class MetaChecker {
  private readonly features;

  constructor(
    private readonly btf: KernelBtf,
    private readonly log: KernelLog,
    /** 6.2+ with MODULE_ALLOW_BTF_MISMATCH=y, module BTF only: type and member lines are not printed. */
    private readonly quiet: boolean,
  ) {
    this.features = btf.features;
  }

  /** btf_check_all_metas: every record in order; returns the first failure. */
  checkAll(): MetaFailure | undefined {
    const { btf } = this;
    let cur = btf.header.hdrLen + btf.header.typeOff;
    const end = cur + btf.header.typeLen;
    let id = btf.startId;
    while (cur < end) {
      const size = this.checkMeta(cur, end - cur, id);
      if (typeof size !== 'number') return size;
      btf.addType(cur);
      cur += size;
      id++;
    }
    return undefined;
  }

  /** btf_check_meta: common checks, then the kind's own; returns the record size or a failure. */
  private checkMeta(at: number, metaLeft: number, id: number): number | MetaFailure {
    const { btf } = this;
    if (metaLeft < 12) {
      this.log.vlog(`[${id}] meta_left:${metaLeft} meta_needed:12`);
      return {
        code: 'META_TRUNCATED',
        errno: EINVAL,
        message: `meta_left:${metaLeft} meta_needed:12`,
        typeId: id,
      };
    }
    const info = btf.u32(at + 4);
    if (!this.features.wideInfo && (info & ~INFO_CLASSIC.usedBits) !== 0) {
      this.log.vlog(`[${id}] Invalid btf_info:${info.toString(16)}`);
      return {
        code: 'BAD_INFO',
        errno: EINVAL,
        message: `Invalid btf_info:${info.toString(16)}`,
        typeId: id,
      };
    }
    const kind = btf.kindOf(info);
    if (kind > this.features.maxKind || kind === 0) {
      this.log.vlog(`[${id}] Invalid kind:${kind}`);
      return { code: 'BAD_KIND', errno: EINVAL, message: `Invalid kind:${kind}`, typeId: id, kind };
    }
    const nameOff = btf.u32(at);
    if (!btf.nameOffsetValid(nameOff)) {
      this.log.vlog(`[${id}] Invalid name_offset:${nameOff}`);
      return {
        code: 'BAD_NAME_OFFSET',
        errno: EINVAL,
        message: `Invalid name_offset:${nameOff}`,
        typeId: id,
        kind,
      };
    }
    // One record object reused for every type (a vmlinux has >100k); nothing keeps it past its check.
    const t = this.rec;
    t.at = at;
    t.id = id;
    t.nameOff = nameOff;
    t.info = info;
    t.kind = kind;
    t.vlen = btf.vlenOf(info);
    t.kflag = info >>> 31 === 1;
    t.st = btf.u32(at + 8);
    const extra = this.kindMeta(t, metaLeft - 12);
    return typeof extra === 'number' ? 12 + extra : extra;
  }

  private kindMeta(t: Rec, metaLeft: number): number | MetaFailure {
    switch (t.kind) {
      case Kind.Int:
        return this.intMeta(t, metaLeft);
      case Kind.Ptr:
      case Kind.Typedef:
      case Kind.Volatile:
      case Kind.Const:
      case Kind.Restrict:
      case Kind.TypeTag:
        return this.refMeta(t);
      case Kind.Array:
        return this.arrayMeta(t, metaLeft);
      case Kind.Struct:
      case Kind.Union:
        return this.structMeta(t, metaLeft);
      case Kind.Enum:
      case Kind.Enum64:
        return this.enumMeta(t, metaLeft);
      case Kind.Fwd:
        return this.fwdMeta(t);
      case Kind.Func:
        return this.funcMeta(t);
      case Kind.FuncProto:
        return this.funcProtoMeta(t, metaLeft);
      case Kind.Var:
        return this.varMeta(t, metaLeft);
      case Kind.Datasec:
        return this.datasecMeta(t, metaLeft);
      case Kind.Float:
        return this.floatMeta(t);
      case Kind.DeclTag:
        return this.declTagMeta(t, metaLeft);
      default:
        throw new Error(`kind ${t.kind} passed the max-kind check but has no check_meta`);
    }
  }

  // ---- logging, as __btf_verifier_log_type / btf_verifier_log_member / btf_verifier_log_vsi ----

  /** btf_verifier_log_type (details) or btf_verifier_log_basic, then a failure. */
  private fail(t: Rec, code: ValidationCode, msg: string, details = true, errno = EINVAL): MetaFailure {
    if (!this.quiet) {
      this.log.vlog(
        `[${t.id}] ${KIND_NAMES[t.kind as Kind]} ${this.btf.logName(t.nameOff)}${details ? ' ' : ''}`,
      );
      if (details) for (const line of this.details(t)) this.log.vlog(line);
      this.log.vlog(' ');
      this.log.vlog(msg);
      this.log.vlog('\n');
    }
    return { code, errno, message: msg, typeId: t.id, kind: t.kind };
  }

  private failBasic(t: Rec, code: ValidationCode, msg: string): MetaFailure {
    return this.fail(t, code, msg, false);
  }

  private failMember(t: Rec, m: number, code: ValidationCode, msg: string): MetaFailure {
    if (!this.quiet) {
      const { btf } = this;
      const [nameOff, type, offset] = [btf.u32(m), btf.u32(m + 4), btf.u32(m + 8)];
      const name = btf.logName(nameOff);
      this.log.vlog(
        t.kflag
          ? `\t${name} type_id=${type} bitfield_size=${offset >>> 24} bits_offset=${offset & 0xffffff}`
          : `\t${name} type_id=${type} bits_offset=${offset}`,
      );
      this.log.vlog(' ');
      this.log.vlog(msg);
      this.log.vlog('\n');
    }
    return { code, errno: EINVAL, message: msg, typeId: t.id, kind: t.kind };
  }

  /** btf_verifier_log_vsi: printed even when type lines are quiet. */
  private failVsi(t: Rec, v: number, code: ValidationCode, msg: string): MetaFailure {
    const { btf } = this;
    this.log.vlog(`\t type_id=${btf.u32(v)} offset=${btf.u32(v + 4)} size=${btf.u32(v + 8)}`);
    this.log.vlog(' ');
    this.log.vlog(msg);
    this.log.vlog('\n');
    return { code, errno: EINVAL, message: msg, typeId: t.id, kind: t.kind };
  }

  /** The kind's log_details callback; each returned string is one btf_verifier_log call. */
  private details(t: Rec): string[] {
    const { btf } = this;
    const tr = (i: number) => btf.u32(t.at + 12 + 4 * i);
    switch (t.kind) {
      case Kind.Int: {
        const d = tr(0);
        const enc = (d >>> 24) & 0x0f;
        const encStr =
          enc === 0
            ? '(none)'
            : enc === BTF_INT_SIGNED
              ? 'SIGNED'
              : enc === BTF_INT_CHAR
                ? 'CHAR'
                : enc === BTF_INT_BOOL
                  ? 'BOOL'
                  : 'UNKN';
        return [`size=${t.st} bits_offset=${(d >>> 16) & 0xff} nr_bits=${d & 0xff} encoding=${encStr}`];
      }
      case Kind.Array:
        return [`type_id=${tr(0)} index_type_id=${tr(1)} nr_elems=${tr(2)}`];
      case Kind.Struct:
      case Kind.Union:
      case Kind.Enum:
      case Kind.Enum64:
      case Kind.Datasec:
        return [`size=${t.st} vlen=${t.vlen}`];
      case Kind.Fwd:
        return [t.kflag ? 'union' : 'struct'];
      case Kind.FuncProto:
        return this.funcProtoDetails(t);
      case Kind.Var:
        return [`type_id=${t.st} linkage=${tr(0)}`];
      case Kind.Float:
        return [`size=${t.st}`];
      case Kind.DeclTag:
        return [`type=${t.st} component_idx=${tr(0) | 0}`];
      default:
        // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG, FUNC: btf_ref_type_log
        return [`type_id=${t.st}`];
    }
  }

  private funcProtoDetails(t: Rec): string[] {
    const { btf } = this;
    const arg = (i: number) => ({ name: btf.u32(t.at + 12 + 8 * i), type: btf.u32(t.at + 16 + 8 * i) });
    const out = [`return=${t.st} args=(`];
    const n = t.vlen;
    if (n === 0) out.push('void');
    else if (n === 1 && arg(0).type === 0) out.push('vararg');
    else {
      out.push(`${arg(0).type} ${btf.logName(arg(0).name)}`);
      for (let i = 1; i < n - 1; i++) out.push(`, ${arg(i).type} ${btf.logName(arg(i).name)}`);
      if (n > 1) {
        const last = arg(n - 1);
        out.push(last.type ? `, ${last.type} ${btf.logName(last.name)}` : ', vararg');
      }
    }
    out.push(')');
    return out;
  }

  // ---- names ----

  private readonly rec: Rec = { at: 0, id: 0, nameOff: 0, info: 0, kind: 0, vlen: 0, kflag: false, st: 0 };
  private readonly loc: StringLocation = { table: EMPTY_STRING, start: 0 };
  /** The string at `off` as (table, index): an offset past the strings reads as "". */
  private locate(off: number): StringLocation {
    if (!this.btf.locateString(off, this.loc)) {
      this.loc.table = EMPTY_STRING;
      this.loc.start = 0;
    }
    return this.loc;
  }
  private identifier(off: number): boolean {
    const { table, start } = this.locate(off);
    return validIdentifier(table, this.features, this.features.identifierDots, start);
  }

  // ---- kinds ----

  private metaShort(t: Rec, metaLeft: number, needed: number): MetaFailure | undefined {
    if (metaLeft < needed)
      return this.failBasic(t, 'META_TRUNCATED', `meta_left:${metaLeft} meta_needed:${needed}`);
    return undefined;
  }

  private intMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const short = this.metaShort(t, metaLeft, 4);
    if (short) return short;
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    const data = this.btf.u32(t.at + 12);
    if ((data & ~BTF_INT_MASK) !== 0)
      return this.failBasic(t, 'BAD_INT_DATA', `Invalid int_data:${data.toString(16)}`);
    const nrBits = (data & 0xff) + ((data >>> 16) & 0xff);
    if (nrBits > 128) return this.fail(t, 'BAD_INT_BITS', 'nr_bits exceeds 128');
    if (roundupBytes(nrBits) > t.st) return this.fail(t, 'BAD_INT_BITS', 'nr_bits exceeds type_size');
    const encoding = (data >>> 24) & 0x0f;
    if (encoding && encoding !== BTF_INT_SIGNED && encoding !== BTF_INT_CHAR && encoding !== BTF_INT_BOOL) {
      return this.fail(t, 'BAD_INT_ENCODING', 'Unsupported encoding', true, ENOTSUPP);
    }
    return 4;
  }

  /** btf_ref_type_check_meta: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG. */
  private refMeta(t: Rec): number | MetaFailure {
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag && !(t.kind === Kind.TypeTag && this.features.tagKindFlag)) {
      return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    }
    if (!typeIdValid(t.st)) return this.fail(t, 'BAD_TYPE_ID', 'Invalid type_id');
    if (t.kind === Kind.Typedef) {
      if (!t.nameOff || !this.identifier(t.nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    } else if (t.kind === Kind.TypeTag) {
      const value = this.btf.stringAt(t.nameOff);
      if (!value || !value[0]) return this.fail(t, 'BAD_NAME', 'Invalid name');
    } else if (t.nameOff) {
      return this.fail(t, 'BAD_NAME', 'Invalid name');
    }
    return 0;
  }

  private fwdMeta(t: Rec): number | MetaFailure {
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.st) return this.fail(t, 'BAD_TYPE_FIELD', 'type != 0');
    if (!t.nameOff || !this.identifier(t.nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    return 0;
  }

  private arrayMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const short = this.metaShort(t, metaLeft, 12);
    if (short) return short;
    if (t.nameOff) return this.fail(t, 'BAD_NAME', 'Invalid name');
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    if (t.st) return this.fail(t, 'BAD_SIZE', 'size != 0');
    const elem = this.btf.u32(t.at + 12);
    const index = this.btf.u32(t.at + 16);
    if (!elem || !typeIdValid(elem)) return this.fail(t, 'BAD_ARRAY_ELEM', 'Invalid elem');
    if (!index || !typeIdValid(index)) return this.fail(t, 'BAD_ARRAY_INDEX', 'Invalid index');
    return 12;
  }

  private structMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const needed = t.vlen * 12;
    const short = this.metaShort(t, metaLeft, needed);
    if (short) return short;
    const { btf } = this;
    if (t.nameOff && !this.identifier(t.nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    const isUnion = t.kind === Kind.Union;
    let lastOffset = 0;
    for (let i = 0; i < t.vlen; i++) {
      const m = t.at + 12 + 12 * i;
      const nameOff = btf.u32(m);
      const type = btf.u32(m + 4);
      const raw = btf.u32(m + 8);
      if (!btf.nameOffsetValid(nameOff)) {
        return this.failMember(t, m, 'BAD_MEMBER_NAME_OFFSET', `Invalid member name_offset:${nameOff}`);
      }
      if (nameOff && !this.identifier(nameOff))
        return this.failMember(t, m, 'BAD_MEMBER_NAME', 'Invalid name');
      if (!type || !typeIdValid(type)) return this.failMember(t, m, 'BAD_MEMBER_TYPE', 'Invalid type_id');
      const offset = t.kflag ? raw & 0xffffff : raw;
      if (isUnion && offset) return this.failMember(t, m, 'BAD_MEMBER_OFFSET', 'Invalid member bits_offset');
      // ">" rather than ">=": a trailing zero-length array shares the previous member's offset.
      if (lastOffset > offset)
        return this.failMember(t, m, 'BAD_MEMBER_OFFSET', 'Invalid member bits_offset');
      if (roundupBytes(offset) > t.st) {
        return this.failMember(t, m, 'MEMBER_OUTSIDE_STRUCT', 'Member bits_offset exceeds its struct size');
      }
      lastOffset = offset;
    }
    return needed;
  }

  private enumMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const entry = t.kind === Kind.Enum64 ? 12 : 8;
    const needed = t.vlen * entry;
    const short = this.metaShort(t, metaLeft, needed);
    if (short) return short;
    if (t.kflag && t.kind === Kind.Enum && !this.features.enumKindFlag) {
      return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    }
    if (t.st > 8 || !isPow2(t.st)) return this.fail(t, 'BAD_SIZE', 'Unexpected size');
    if (t.nameOff && !this.identifier(t.nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    for (let i = 0; i < t.vlen; i++) {
      const nameOff = this.btf.u32(t.at + 12 + entry * i);
      if (!this.btf.nameOffsetValid(nameOff)) {
        this.log.vlog(`\tInvalid name_offset:${nameOff}`);
        return {
          code: 'BAD_ENUM_NAME_OFFSET',
          errno: EINVAL,
          message: `Invalid name_offset:${nameOff}`,
          typeId: t.id,
          kind: t.kind,
        };
      }
      if (!nameOff || !this.identifier(nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    }
    return needed;
  }

  private funcProtoMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const needed = t.vlen * 8;
    const short = this.metaShort(t, metaLeft, needed);
    if (short) return short;
    if (t.nameOff) return this.fail(t, 'BAD_NAME', 'Invalid name');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    return needed;
  }

  private funcMeta(t: Rec): number | MetaFailure {
    if (!t.nameOff || !this.identifier(t.nameOff)) return this.fail(t, 'BAD_NAME', 'Invalid name');
    if (t.vlen > BTF_FUNC_GLOBAL) return this.fail(t, 'BAD_FUNC_LINKAGE', 'Invalid func linkage');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    return 0;
  }

  private varMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const short = this.metaShort(t, metaLeft, 4);
    if (short) return short;
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    if (!t.nameOff || !validVarName(this.locate(t.nameOff).table, this.features, this.loc.start))
      return this.fail(t, 'BAD_NAME', 'Invalid name');
    if (!t.st || !typeIdValid(t.st)) return this.fail(t, 'BAD_TYPE_ID', 'Invalid type_id');
    const linkage = this.btf.u32(t.at + 12);
    if (linkage !== 0 && linkage !== BTF_VAR_GLOBAL_ALLOCATED)
      return this.fail(t, 'BAD_VAR_LINKAGE', 'Linkage not supported');
    return 4;
  }

  private datasecMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const needed = t.vlen * 12;
    const short = this.metaShort(t, metaLeft, needed);
    if (short) return short;
    if (this.features.datasecRequiresVlen && !t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen == 0');
    if (!t.st) return this.fail(t, 'BAD_SIZE', 'size == 0');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    if (!t.nameOff || !validSectionName(this.locate(t.nameOff).table, this.features, this.loc.start)) {
      return this.fail(t, 'BAD_NAME', 'Invalid name');
    }
    let lastEnd = 0;
    let sum = 0;
    for (let i = 0; i < t.vlen; i++) {
      const v = t.at + 12 + 12 * i;
      const [type, offset, size] = [this.btf.u32(v), this.btf.u32(v + 4), this.btf.u32(v + 8)];
      if (!type || !typeIdValid(type)) return this.failVsi(t, v, 'BAD_SECINFO_TYPE', 'Invalid type_id');
      if (offset < lastEnd || offset >= t.st)
        return this.failVsi(t, v, 'BAD_SECINFO_OFFSET', 'Invalid offset');
      if (!size || size > t.st) return this.failVsi(t, v, 'BAD_SECINFO_SIZE', 'Invalid size');
      lastEnd = offset + size; // u64 in the kernel: no wrap
      if (lastEnd > t.st) return this.failVsi(t, v, 'SECINFO_OUTSIDE_SECTION', 'Invalid offset+size');
      sum += size;
    }
    if (t.st < sum) return this.fail(t, 'DATASEC_TOO_SMALL', 'Invalid btf_info size');
    return needed;
  }

  private floatMeta(t: Rec): number | MetaFailure {
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag) return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    if (![2, 4, 8, 12, 16].includes(t.st)) return this.fail(t, 'BAD_SIZE', 'Invalid type_size');
    return 0;
  }

  private declTagMeta(t: Rec, metaLeft: number): number | MetaFailure {
    const short = this.metaShort(t, metaLeft, 4);
    if (short) return short;
    const value = this.btf.stringAt(t.nameOff);
    if (!value || !value[0]) return this.fail(t, 'BAD_VALUE', 'Invalid value');
    if (t.vlen) return this.fail(t, 'BAD_VLEN', 'vlen != 0');
    if (t.kflag && !this.features.tagKindFlag)
      return this.fail(t, 'BAD_KIND_FLAG', 'Invalid btf_info kind_flag');
    const componentIdx = this.btf.u32(t.at + 12) | 0;
    if (componentIdx < -1) return this.fail(t, 'BAD_COMPONENT_IDX', 'Invalid component_idx');
    return 4;
  }
}

/** For tests and callers that want the kernel's kind names (btf_kind_str). */
export function kernelKindName(kind: number): string | undefined {
  return KIND_NAMES[kind as Kind];
}

export { binary };
