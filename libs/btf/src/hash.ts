// Structural hashes: per-type identities that ignore type ids and string offsets (names are hashed by
// content), so one type in two builds with different numbering hashes equal when its structure is
// equal. Two hashes per type:
//
//   shape — the type's own layout, with everything held by value hashed in full, and pointees named by
//           kind and name only (C's notion: `struct foo *` is the same type whatever foo holds;
//           anonymous pointees, e.g. function prototypes, are still hashed in full, with their own
//           named pointees cut the same way). What "struct sk_buff changed" means to a human.
//   deep  — the type and everything it reaches, pointees included. In kernel BTF most structs sit in
//           one strongly connected component through pointers, so a change anywhere in it changes the
//           deep hash of all its members.
//
// Cycles: in C every cycle passes through a pointer to a named type, so the shape graph is acyclic
// for real BTF; hostile BTF can still contain cycles (CONST → CONST, a struct holding itself). Both
// passes find strongly connected components (Tarjan, iterative, children first); a component with a
// cycle is hashed from the multiset of its members' hashes after a few rounds of neighbourhood
// refinement, which depends on structure only, never on ids or the order of traversal.

// Deep hashes are canonical for isomorphic graphs (the same BTF renumbered). A type re-expressed with
// unrolled copies (what relocation appends) can hash differently from the original although it is
// structurally the same: TypeComparer (equiv.ts) decides that exactly.

import type { Btf, TypeId } from './btf.ts';
import type { StringTable } from './strings.ts';
import { visitTypeIdFields } from './fields.ts';
import { BTF_TYPE_SIZE, Kind, infoKind, infoVlen, typeIdFieldCount, typeIdFieldOffset } from './wire.ts';

// ---- 64-bit hash: two independent 32-bit murmur3 lanes, one hasher per computation.

/** Two 32-bit murmur3 lanes: `h.begin(tag)`, any number of `h.mix(word)`, then `h.end(out, at)`. */
class LaneHasher {
  private h1 = 0;
  private h2 = 0;

  begin(tag: number): void {
    this.h1 = 0x9747b28c ^ tag;
    this.h2 = 0x5bd1e995 ^ Math.imul(tag, 0x27d4eb2d);
  }

  mix(k: number): void {
    let a = Math.imul(k, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    let h1 = this.h1 ^ Math.imul(a, 0x1b873593);
    h1 = (h1 << 13) | (h1 >>> 19);
    this.h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let b = Math.imul(k, 0x85ebca6b);
    b = (b << 17) | (b >>> 15);
    let h2 = this.h2 ^ Math.imul(b, 0xc2b2ae35);
    h2 = (h2 << 11) | (h2 >>> 21);
    this.h2 = (Math.imul(h2, 5) + 0x561ccd1b) | 0;
  }

  /** Finish into out[at], out[at + 1]. */
  end(out: Uint32Array, at: number): void {
    const a = fmix(this.h1);
    const b = fmix(this.h2);
    out[at] = (a + b) >>> 0;
    out[at + 1] = (b + ((a + b) >>> 0)) >>> 0;
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const TAG_TYPE = 1;
const TAG_REF = 2;
const TAG_SCC = 4;
const TAG_DEEP = 5;
const TAG_DEEP_SCC = 6;
const TAG_REFINE = 7;
const TAG_NAME = 8;
const TAG_NODE = 9;
const MARK_IN_CYCLE = 0x6379636c;
const REFINE_ROUNDS = 3;

function constant(tag: number, mark: number): Uint32Array {
  const out = new Uint32Array(2);
  const h = new LaneHasher();
  h.begin(tag);
  h.mix(mark);
  h.end(out, 0);
  return out;
}
/** Void (id 0) and ids that resolve nowhere, as children. */
const VOID_SHAPE = constant(TAG_TYPE, 0x766f6964);
const VOID_DEEP = constant(TAG_DEEP, 0x766f6964);
const DANGLING = constant(TAG_TYPE, 0x64616e67);

/** Kinds whose name identifies them when reached through a pointer. */
function isNamedLeafKind(kind: number): boolean {
  switch (kind) {
    case Kind.Int:
    case Kind.Struct:
    case Kind.Union:
    case Kind.Enum:
    case Kind.Enum64:
    case Kind.Fwd:
    case Kind.Typedef:
    case Kind.Float:
    case Kind.Func:
    case Kind.Var:
    case Kind.Datasec:
      return true;
    default:
      return false;
  }
}

const cache = new WeakMap<Btf, StructuralHashes>();

/**
 * Structural hashes of every type in a blob's id space. Shapes are computed on creation, deep hashes
 * on first use; a split blob reuses its base's (computed once per base object).
 */
export class StructuralHashes {
  private deeps?: Uint32Array;

  private constructor(
    readonly btf: Btf,
    private readonly base: StructuralHashes | undefined,
    /** Lanes per node: node 2i is local type i by value, 2i+1 as reached through a pointer. */
    private readonly shapes: Uint32Array,
  ) {}

  /** Hashes for `btf`, computed on first use and kept for the blob's lifetime. */
  static of(btf: Btf): StructuralHashes {
    let h = cache.get(btf);
    if (!h) {
      const base = btf.base ? StructuralHashes.of(btf.base) : undefined;
      h = new StructuralHashes(btf, base, computeShapes(btf, base));
      cache.set(btf, h);
    }
    return h;
  }

  /** 16 hex digits: the layout hash (pointees by kind and name). */
  shape(id: TypeId): string {
    return this.hex(id, 'shape');
  }

  /** 16 hex digits: the hash of everything reachable from `id`. */
  deep(id: TypeId): string {
    return this.hex(id, 'deep');
  }

  /** Both lanes of a hash into out[at], out[at + 1]. */
  read(id: TypeId, which: 'shape' | 'pointee' | 'deep', out: Uint32Array, at: number): void {
    let src: Uint32Array;
    if (id === 0) src = which === 'deep' ? VOID_DEEP : VOID_SHAPE;
    else if (id < this.btf.startId) {
      if (this.base) return this.base.read(id, which, out, at);
      src = DANGLING;
    } else if (id >= this.btf.nrTypes) src = DANGLING;
    else {
      const i = id - this.btf.startId;
      if (which === 'deep') {
        this.deeps ??= computeDeeps(this.btf, this.base, this.shapes);
        out[at] = this.deeps[2 * i] as number;
        out[at + 1] = this.deeps[2 * i + 1] as number;
        return;
      }
      const node = which === 'shape' ? 2 * i : 2 * i + 1;
      out[at] = this.shapes[2 * node] as number;
      out[at + 1] = this.shapes[2 * node + 1] as number;
      return;
    }
    out[at] = src[0] as number;
    out[at + 1] = src[1] as number;
  }

  private hex(id: TypeId, which: 'shape' | 'deep'): string {
    const tmp = new Uint32Array(2);
    this.read(id, which, tmp, 0);
    return (
      (tmp[1] as number).toString(16).padStart(8, '0') + (tmp[0] as number).toString(16).padStart(8, '0')
    );
  }
}

/** Mixes strings by content, four bytes at a time, from one string table and its bases. */
class StringMixer {
  private readonly tables: { start: number; bytes: Uint8Array; view: DataView }[] = [];
  constructor(
    strings: StringTable,
    private readonly h: LaneHasher,
  ) {
    for (let t: StringTable | undefined = strings; t; t = t.base) {
      this.tables.push({
        start: t.startOffset,
        bytes: t.bytes,
        view: new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength),
      });
    }
  }

  mixString(off: number): void {
    const { h } = this;
    if (off === 0) {
      h.mix(0);
      return;
    }
    let t = this.tables[0];
    for (let j = 1; t && off < t.start; j++) t = this.tables[j];
    const local = t ? off - t.start : -1;
    if (!t || local >= t.bytes.byteLength) {
      h.mix(0xffffffff);
      return;
    }
    const { bytes, view } = t;
    const len = bytes.byteLength;
    let i = local;
    for (;;) {
      if (i + 4 <= len) {
        const w = view.getUint32(i, true);
        const zero = (w - 0x01010101) & ~w & 0x80808080;
        if (zero === 0) {
          h.mix(w);
          i += 4;
          continue;
        }
        // Index of the first NUL byte (lowest address = lowest bits).
        const k = (31 - Math.clz32(zero & -zero)) >> 3;
        if (k > 0) h.mix(w & (0xffffffff >>> (32 - 8 * k)));
        i += k;
        break;
      }
      // Within 3 bytes of the section end (which is a NUL).
      let w = 0;
      let k = 0;
      while (i + k < len && bytes[i + k] !== 0 && k < 4) {
        w |= (bytes[i + k] as number) << (8 * k);
        k++;
      }
      if (k > 0) h.mix(w >>> 0);
      i += k;
      if (k < 4 || i >= len || bytes[i] === 0) break;
    }
    h.mix(i - local);
  }
}

/** Shape lanes of every local node; see the file comment. */
function computeShapes(btf: Btf, base: StructuralHashes | undefined): Uint32Array {
  const n = btf.count;
  const startId = btf.startId;
  const endId = startId + n;
  const offsets = btf.recordOffsets;
  const { view } = btf;
  const le = btf.header.littleEndian;
  const h = new LaneHasher();
  const strings = new StringMixer(btf.strings, h);
  const u32 = (at: number) => view.getUint32(at, le);

  // One pass over the records: kind, degree, and two hashes per type that do not depend on other
  // types — its name, and everything in its record except referenced ids (names by content). Both
  // views of a type (by value, through a pointer) reuse them, so each string is hashed once.
  const kinds = new Uint8Array(n);
  const degree = new Uint32Array(n);
  const leaf = new Uint8Array(n);
  const names = new Uint32Array(2 * n);
  const locals = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const at = offsets[i] as number;
    const nameOff = u32(at);
    const info = u32(at + 4);
    const kind = infoKind(info);
    const vlen = infoVlen(info);
    kinds[i] = kind;
    degree[i] = typeIdFieldCount(kind, vlen);
    leaf[i] = nameOff !== 0 && isNamedLeafKind(kind) ? 1 : 0;
    h.begin(TAG_NAME);
    strings.mixString(nameOff);
    h.end(names, 2 * i);
    h.begin(TAG_TYPE);
    h.mix(info);
    h.mix(names[2 * i] as number);
    h.mix(names[2 * i + 1] as number);
    const tail = at + BTF_TYPE_SIZE;
    switch (kind) {
      case Kind.Int:
        h.mix(u32(at + 8));
        h.mix(u32(tail));
        break;
      case Kind.Var:
      case Kind.DeclTag:
        h.mix(u32(tail));
        break;
      case Kind.Array:
        h.mix(u32(at + 8));
        h.mix(u32(tail + 8));
        break;
      case Kind.Struct:
      case Kind.Union:
        h.mix(u32(at + 8));
        for (let p = tail, e = tail + 12 * vlen; p < e; p += 12) {
          strings.mixString(u32(p));
          h.mix(u32(p + 8));
        }
        break;
      case Kind.Enum:
        h.mix(u32(at + 8));
        for (let p = tail, e = tail + 8 * vlen; p < e; p += 8) {
          strings.mixString(u32(p));
          h.mix(u32(p + 4));
        }
        break;
      case Kind.Enum64:
        h.mix(u32(at + 8));
        for (let p = tail, e = tail + 12 * vlen; p < e; p += 12) {
          strings.mixString(u32(p));
          h.mix(u32(p + 4));
          h.mix(u32(p + 8));
        }
        break;
      case Kind.FuncProto:
        for (let p = tail, e = tail + 8 * vlen; p < e; p += 8) strings.mixString(u32(p));
        break;
      case Kind.Datasec:
        h.mix(u32(at + 8));
        for (let p = tail, e = tail + 12 * vlen; p < e; p += 12) {
          h.mix(u32(p + 4));
          h.mix(u32(p + 8));
        }
        break;
      case Kind.Float:
        h.mix(u32(at + 8));
        break;
      default:
      // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG, FUNC, FWD: nothing but the id.
    }
    h.end(locals, 2 * i);
  }

  const out = new Uint32Array(4 * n);
  const tmp = new Uint32Array(2);
  let mask: Uint8Array | undefined;

  const mixChild = (t: number, mode: number) => {
    if (t >= startId && t < endId) {
      const c = 2 * (t - startId) + mode;
      if (mask !== undefined && mask[c] === 1) {
        h.mix(MARK_IN_CYCLE);
        h.mix(MARK_IN_CYCLE);
      } else {
        h.mix(out[2 * c] as number);
        h.mix(out[2 * c + 1] as number);
      }
    } else if (t === 0) {
      h.mix(VOID_SHAPE[0] as number);
      h.mix(VOID_SHAPE[1] as number);
    } else if (t < startId && base) {
      base.read(t, mode === 1 ? 'pointee' : 'shape', tmp, 0);
      h.mix(tmp[0] as number);
      h.mix(tmp[1] as number);
    } else {
      h.mix(DANGLING[0] as number);
      h.mix(DANGLING[1] as number);
    }
  };

  /** A node: its record's local hash, then its children (in field order) in the view they are reached. */
  const hashNode = (v: number, dst: Uint32Array, dstAt: number) => {
    const i = v >> 1;
    const mode = v & 1;
    const kind = kinds[i] as number;
    if (mode === 1 && leaf[i] === 1) {
      h.begin(TAG_REF);
      // A pointer to a forward declaration and to the definition are the same C type.
      const at = offsets[i] as number;
      h.mix(kind === Kind.Fwd ? (u32(at + 4) >>> 31 === 1 ? Kind.Union : Kind.Struct) : kind);
      h.mix(names[2 * i] as number);
      h.mix(names[2 * i + 1] as number);
      h.end(dst, dstAt);
      return;
    }
    h.begin(TAG_NODE);
    h.mix(mode);
    h.mix(locals[2 * i] as number);
    h.mix(locals[2 * i + 1] as number);
    const d = degree[i] as number;
    if (d > 0) {
      const at = offsets[i] as number;
      const cm = mode === 1 || kind === Kind.Ptr ? 1 : 0;
      for (let k = 0; k < d; k++) mixChild(u32(at + typeIdFieldOffset(kind, k)), cm);
    }
    h.end(dst, dstAt);
  };

  const nodeDegree = (v: number) => (v & 1 && leaf[v >> 1] ? 0 : (degree[v >> 1] as number));
  const nodeChild = (v: number, k: number) => {
    const i = v >> 1;
    const kind = kinds[i] as number;
    const t = u32((offsets[i] as number) + typeIdFieldOffset(kind, k));
    if (t < startId || t >= endId) return -1;
    return 2 * (t - startId) + ((v & 1) === 1 || kind === Kind.Ptr ? 1 : 0);
  };

  // Real BTF has no cycles in this graph (every C cycle passes through a pointer to a named type), so
  // a plain post-order DFS hashes it; a back edge (hostile BTF) restarts with Tarjan's components.
  const roots = (visit: (root: number) => void) => {
    // By-value nodes first, then the pointee view of every type (a split blob may point at any).
    for (let i = 0; i < n; i++) visit(2 * i);
    for (let i = 0; i < n; i++) visit(2 * i + 1);
  };
  if (!acyclicPostOrder(2 * n, roots, nodeDegree, nodeChild, (v) => hashNode(v, out, 2 * v))) {
    tarjan(2 * n, roots, nodeDegree, nodeChild, (members, size, cyclic) => {
      if (!cyclic) {
        const v = members[0] as number;
        hashNode(v, out, 2 * v);
        return;
      }
      mask ??= new Uint8Array(2 * n);
      hashCycle(h, members, size, mask, out, hashNode, nodeDegree, nodeChild, TAG_SCC);
    });
  }
  return out;
}

/**
 * Post-order DFS calling `visit(v)` after all of v's children; false (having visited only part of the
 * graph) as soon as it meets a cycle.
 */
function acyclicPostOrder(
  nodeCount: number,
  roots: (visit: (root: number) => void) => void,
  degree: (v: number) => number,
  child: (v: number, k: number) => number,
  visit: (v: number) => void,
): boolean {
  const state = new Uint8Array(nodeCount); // 0 unseen, 1 on the path, 2 done
  const stackNode = new Int32Array(nodeCount);
  const stackEdge = new Int32Array(nodeCount);
  let cyclic = false;
  roots((root) => {
    if (cyclic || state[root] !== 0) return;
    let sp = 0;
    stackNode[sp] = root;
    stackEdge[sp++] = 0;
    state[root] = 1;
    while (sp > 0) {
      const v = stackNode[sp - 1] as number;
      const k = stackEdge[sp - 1] as number;
      if (k < degree(v)) {
        stackEdge[sp - 1] = k + 1;
        const w = child(v, k);
        if (w < 0) continue;
        const s = state[w];
        if (s === 2) continue;
        if (s === 1) {
          cyclic = true;
          return;
        }
        state[w] = 1;
        stackNode[sp] = w;
        stackEdge[sp++] = 0;
        continue;
      }
      visit(v);
      state[v] = 2;
      sp--;
    }
  });
  return !cyclic;
}

/**
 * Iterative Tarjan over nodes 0..nodeCount-1, from the roots `roots` offers. `degree(v)` and
 * `child(v, k)` describe the graph (child -1 for an edge leaving it). `emit(members, size, cyclic)` is
 * called for each strongly connected component, children before parents.
 */
function tarjan(
  nodeCount: number,
  roots: (visit: (root: number) => void) => void,
  degree: (v: number) => number,
  child: (v: number, k: number) => number,
  emit: (members: Int32Array, size: number, cyclic: boolean) => void,
): void {
  const index = new Int32Array(nodeCount).fill(-1);
  const low = new Int32Array(nodeCount);
  const onStack = new Uint8Array(nodeCount);
  const sccStack = new Int32Array(nodeCount);
  const callNode = new Int32Array(nodeCount);
  const callEdge = new Int32Array(nodeCount);
  const members = new Int32Array(nodeCount);
  let sp = 0;
  let cp = 0;
  let counter = 0;
  roots((root) => {
    if (index[root] !== -1) return;
    index[root] = low[root] = counter++;
    sccStack[sp++] = root;
    onStack[root] = 1;
    callNode[0] = root;
    callEdge[0] = 0;
    cp = 1;
    while (cp > 0) {
      const v = callNode[cp - 1] as number;
      const k = callEdge[cp - 1] as number;
      if (k < degree(v)) {
        callEdge[cp - 1] = k + 1;
        const w = child(v, k);
        if (w < 0) continue;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          sccStack[sp++] = w;
          onStack[w] = 1;
          callNode[cp] = w;
          callEdge[cp++] = 0;
        } else if (onStack[w] === 1 && (index[w] as number) < (low[v] as number)) {
          low[v] = index[w] as number;
        }
        continue;
      }
      cp--;
      if (low[v] === index[v]) {
        let size = 0;
        let w: number;
        do {
          w = sccStack[--sp] as number;
          onStack[w] = 0;
          members[size++] = w;
        } while (w !== v);
        let cyclic = size > 1;
        if (!cyclic) for (let j = 0, d = degree(v); j < d; j++) if (child(v, j) === v) cyclic = true;
        emit(members, size, cyclic);
      }
      if (cp > 0) {
        const parent = callNode[cp - 1] as number;
        if ((low[v] as number) < (low[parent] as number)) low[parent] = low[v] as number;
      }
    }
  });
}

function pack(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function mixSorted(h: LaneHasher, values: bigint[]): void {
  const arr = BigUint64Array.from(values).sort();
  h.mix(arr.length);
  for (const x of arr) {
    h.mix(Number(x & 0xffffffffn));
    h.mix(Number(x >> 32n));
  }
}

/**
 * Hash a component with a cycle: members first get a hash with in-component children masked, then
 * REFINE_ROUNDS rounds each mix in their in-component children's previous-round hashes (so wiring
 * inside the component counts), and finally each member mixes in the sorted multiset of all members'
 * refined hashes. Nothing depends on ids or on which member the traversal reached first.
 */
function hashCycle(
  h: LaneHasher,
  members: Int32Array,
  size: number,
  mask: Uint8Array,
  out: Uint32Array,
  hashMasked: (v: number, out: Uint32Array, at: number) => void,
  degree: (v: number) => number,
  child: (v: number, k: number) => number,
  tag: number,
): void {
  const list = Array.from(members.subarray(0, size));
  for (const v of list) mask[v] = 1;
  const pos = new Map<number, number>();
  list.forEach((v, j) => pos.set(v, j));
  let cur = new Uint32Array(2 * size);
  list.forEach((v, j) => hashMasked(v, cur, 2 * j));
  for (let round = 0; round < REFINE_ROUNDS; round++) {
    const next = new Uint32Array(2 * size);
    list.forEach((v, j) => {
      h.begin(TAG_REFINE);
      h.mix(cur[2 * j] as number);
      h.mix(cur[2 * j + 1] as number);
      for (let k = 0, d = degree(v); k < d; k++) {
        const w = child(v, k);
        const p = w >= 0 ? pos.get(w) : undefined;
        if (p === undefined) continue;
        h.mix(k);
        h.mix(cur[2 * p] as number);
        h.mix(cur[2 * p + 1] as number);
      }
      h.end(next, 2 * j);
    });
    cur = next;
  }
  const all: bigint[] = [];
  for (let j = 0; j < size; j++) all.push(pack(cur[2 * j] as number, cur[2 * j + 1] as number));
  const sig = new Uint32Array(2);
  h.begin(tag);
  mixSorted(h, all);
  h.end(sig, 0);
  list.forEach((v, j) => {
    h.begin(tag);
    h.mix(cur[2 * j] as number);
    h.mix(cur[2 * j + 1] as number);
    h.mix(sig[0] as number);
    h.mix(sig[1] as number);
    h.end(out, 2 * v);
    mask[v] = 0;
  });
}

/** Deep lanes of every local type: a Merkle hash over the components of the full reference graph. */
function computeDeeps(btf: Btf, base: StructuralHashes | undefined, shapes: Uint32Array): Uint32Array {
  const h = new LaneHasher();
  const n = btf.count;
  const startId = btf.startId;
  const { view } = btf;
  const le = btf.header.littleEndian;
  const offsets = btf.recordOffsets;
  const start = new Uint32Array(n + 1);
  const targets: number[] = [];
  for (let i = 0; i < n; i++) {
    start[i] = targets.length;
    visitTypeIdFields(view, le, offsets[i] as number, (f) => targets.push(view.getUint32(f, le)));
  }
  start[n] = targets.length;
  const deeps = new Uint32Array(2 * n);
  const tmp = new Uint32Array(2);
  const childLanes = (t: number) => {
    if (t >= startId && t < startId + n) {
      tmp[0] = deeps[2 * (t - startId)] as number;
      tmp[1] = deeps[2 * (t - startId) + 1] as number;
    } else if (t === 0) tmp.set(VOID_DEEP);
    else if (t < startId && base) base.read(t, 'deep', tmp, 0);
    else tmp.set(DANGLING);
  };
  const degree = (v: number) => (start[v + 1] as number) - (start[v] as number);
  const child = (v: number, k: number) => {
    const t = targets[(start[v] as number) + k] as number;
    return t >= startId && t < startId + n ? t - startId : -1;
  };
  const inComponent = new Uint8Array(n);
  tarjan(
    n,
    (visit) => {
      for (let i = 0; i < n; i++) visit(i);
    },
    degree,
    child,
    (members, size, cyclic) => {
      if (!cyclic) {
        const v = members[0] as number;
        const kids: number[] = [];
        for (let k = start[v] as number; k < (start[v + 1] as number); k++) {
          childLanes(targets[k] as number);
          kids.push(tmp[0] as number, tmp[1] as number);
        }
        h.begin(TAG_DEEP);
        h.mix(shapes[4 * v] as number);
        h.mix(shapes[4 * v + 1] as number);
        for (const x of kids) h.mix(x);
        h.end(deeps, 2 * v);
        return;
      }
      // The component's signature: the multiset of its members' shapes and of the deep hashes of what
      // it reaches outside itself. Each member mixes its own shape in.
      for (let j = 0; j < size; j++) inComponent[members[j] as number] = 1;
      const inside: bigint[] = [];
      const outside: bigint[] = [];
      for (let j = 0; j < size; j++) {
        const v = members[j] as number;
        inside.push(pack(shapes[4 * v] as number, shapes[4 * v + 1] as number));
        for (let k = start[v] as number; k < (start[v + 1] as number); k++) {
          const t = targets[k] as number;
          if (t >= startId && t < startId + n && inComponent[t - startId]) continue;
          childLanes(t);
          outside.push(pack(tmp[0] as number, tmp[1] as number));
        }
      }
      const sig = new Uint32Array(2);
      h.begin(TAG_DEEP_SCC);
      mixSorted(h, inside);
      h.mix(0xfffffffe);
      mixSorted(h, outside);
      h.end(sig, 0);
      for (let j = 0; j < size; j++) {
        const v = members[j] as number;
        inComponent[v] = 0;
        h.begin(TAG_DEEP_SCC);
        h.mix(shapes[4 * v] as number);
        h.mix(shapes[4 * v + 1] as number);
        h.mix(sig[0] as number);
        h.mix(sig[1] as number);
        h.end(deeps, 2 * v);
      }
    },
  );
  return deeps;
}
