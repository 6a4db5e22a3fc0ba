import { Kind, type Btf, type Type } from '@btfwatch/btf';

/** A module type whose reference into its base lands on a type of a kind that field cannot hold. */
export interface MisplacedReference {
  /** The module type holding the reference. */
  typeId: number;
  field: string;
  /** The base type it lands on, and its kind. */
  target: number;
  targetKind: string;
}

/** Kinds a data type field (member, element, pointee, parameter, variable...) can never name. */
const NOT_A_DATA_TYPE = new Set<Kind>([Kind.Func, Kind.Var, Kind.Datasec, Kind.DeclTag]);
/** Kinds a DECL_TAG can be attached to. */
const TAGGABLE = new Set<Kind>([Kind.Struct, Kind.Union, Kind.Var, Kind.Func, Kind.Typedef]);

type Rule = (kind: Kind) => boolean;
const dataType: Rule = (k) => !NOT_A_DATA_TYPE.has(k) && k !== Kind.FuncProto;
/** A pointer or typedef may name a function prototype (a function pointer, a function type). */
const dataTypeOrProto: Rule = (k) => !NOT_A_DATA_TYPE.has(k);
const integer: Rule = (k) => k === Kind.Int || k === Kind.Enum || k === Kind.Enum64;

function references(t: Type): Array<[string, number, Rule]> {
  switch (t.kind) {
    case Kind.Ptr:
    case Kind.Typedef:
      return [['target', t.typeId, dataTypeOrProto]];
    case Kind.Volatile:
    case Kind.Const:
    case Kind.Restrict:
    case Kind.TypeTag:
      return [['target', t.typeId, dataTypeOrProto]];
    case Kind.Array:
      return [
        ['element type', t.typeId, dataType],
        ['index type', t.indexTypeId, integer],
      ];
    case Kind.Struct:
    case Kind.Union:
      return t.members.map((m) => [`member ${m.index}`, m.typeId, dataType] as [string, number, Rule]);
    case Kind.FuncProto:
      return [
        ['return type', t.returnTypeId, dataType],
        ...t.params.map((p) => [`parameter ${p.index}`, p.typeId, dataType] as [string, number, Rule]),
      ];
    case Kind.Func:
      return [['prototype', t.typeId, (k) => k === Kind.FuncProto]];
    case Kind.Var:
      return [['type', t.typeId, dataType]];
    case Kind.Datasec:
      return t.vars.map(
        (v, i) =>
          [`variable ${i}`, v.typeId, (k: Kind) => k === Kind.Var || k === Kind.Func] as [
            string,
            number,
            Rule,
          ],
      );
    case Kind.DeclTag:
      return [['target', t.typeId, (k) => TAGGABLE.has(k)]];
    default:
      return [];
  }
}

/**
 * The references from a module's split BTF into its base that land on a type of a kind that field cannot
 * hold (a member typed by a FUNC, a FUNC whose prototype is a STRUCT...). pahole writes none: read against
 * the base it was generated on, every reference lands on the right kind. Against another base with the same
 * counts they land on whatever type has that id — the wrong kind, for all but the smallest modules. The
 * kernel itself does not check this for modules (it resolves types only for BTF loaded from user space).
 */
export function misplacedBaseReferences(
  split: Btf,
  limit = 20,
): { count: number; examples: MisplacedReference[] } {
  const examples: MisplacedReference[] = [];
  let count = 0;
  for (let id = split.startId; id < split.nrTypes; id++) {
    for (const [field, target, allowed] of references(split.type(id))) {
      if (target === 0 || target >= split.startId) continue;
      const kind = split.raw(target).kind;
      if (allowed(kind)) continue;
      count++;
      if (examples.length < limit)
        examples.push({ typeId: id, field, target, targetKind: split.type(target).kindName });
    }
  }
  return { count, examples };
}
