import type { Btf, TypeId } from './btf.ts';
import { StructuralHashes } from './hash.ts';
import { KIND_NAMES, type Kind } from './wire.ts';

/** One (kind, name) present in either kernel, with the shape hashes of every type carrying it. */
export interface NamedTypeEntry {
  readonly kind: Kind;
  readonly kindName: string;
  readonly name: string;
  /** Shape hashes in A (sorted; more than one when the name is not unique, e.g. static functions). */
  readonly shapesA: readonly string[];
  readonly shapesB: readonly string[];
}

export interface NamedTypeDiff {
  readonly added: readonly NamedTypeEntry[];
  readonly removed: readonly NamedTypeEntry[];
  /** Present in both, with a different multiset of shape hashes. */
  readonly changed: readonly NamedTypeEntry[];
  readonly counts: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    readonly unchanged: number;
    /** Present in both with equal shapes, but something reachable through pointers differs. */
    readonly deepChangedOnly: number;
    readonly anonymousA: number;
    readonly anonymousB: number;
  };
}

interface Group {
  kind: Kind;
  name: string;
  shapes: string[];
  deeps: string[];
}

function groups(btf: Btf): { byKey: Map<string, Group>; anonymous: number } {
  const hashes = StructuralHashes.of(btf);
  const byKey = new Map<string, Group>();
  let anonymous = 0;
  for (let id: TypeId = btf.startId; id < btf.nrTypes; id++) {
    const raw = btf.raw(id);
    if (!raw.nameOff || !btf.strings.isValidOffset(raw.nameOff)) {
      anonymous++;
      continue;
    }
    const name = btf.strings.get(raw.nameOff);
    const key = `${raw.kind}\u0000${name}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { kind: raw.kind, name, shapes: [], deeps: [] }));
    g.shapes.push(hashes.shape(id));
    g.deeps.push(hashes.deep(id));
  }
  for (const g of byKey.values()) {
    g.shapes.sort();
    g.deeps.sort();
  }
  return { byKey, anonymous };
}

const sameList = (x: readonly string[], y: readonly string[]) =>
  x.length === y.length && x.every((v, i) => v === y[i]);

/**
 * Named types of kernel A against kernel B, for humans: matched by (kind, name), compared by shape
 * hash (layout, pointees by name), so renumbering and string layout never show up as changes.
 */
export function diffNamedTypes(a: Btf, b: Btf): NamedTypeDiff {
  const ga = groups(a);
  const gb = groups(b);
  const entry = (x: Group | undefined, y: Group | undefined): NamedTypeEntry => {
    const g = (x ?? y) as Group;
    return {
      kind: g.kind,
      kindName: KIND_NAMES[g.kind],
      name: g.name,
      shapesA: x?.shapes ?? [],
      shapesB: y?.shapes ?? [],
    };
  };
  const added: NamedTypeEntry[] = [];
  const removed: NamedTypeEntry[] = [];
  const changed: NamedTypeEntry[] = [];
  let unchanged = 0;
  let deepChangedOnly = 0;
  for (const [key, x] of ga.byKey) {
    const y = gb.byKey.get(key);
    if (!y) removed.push(entry(x, undefined));
    else if (!sameList(x.shapes, y.shapes)) changed.push(entry(x, y));
    else {
      unchanged++;
      if (!sameList(x.deeps, y.deeps)) deepChangedOnly++;
    }
  }
  for (const [key, y] of gb.byKey) if (!ga.byKey.has(key)) added.push(entry(undefined, y));
  const order = (p: NamedTypeEntry, q: NamedTypeEntry) =>
    p.kind - q.kind || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0);
  added.sort(order);
  removed.sort(order);
  changed.sort(order);
  return {
    added,
    removed,
    changed,
    counts: {
      added: added.length,
      removed: removed.length,
      changed: changed.length,
      unchanged,
      deepChangedOnly,
      anonymousA: ga.anonymous,
      anonymousB: gb.anonymous,
    },
  };
}
