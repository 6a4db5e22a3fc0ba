import type { Btf, TypeId } from './btf.ts';
import { isStringWord, visitTypeIdFields } from './fields.ts';
import { BTF_TYPE_SIZE, infoKind, infoVlen, trailingSize } from './wire.ts';

/**
 * Exact deep structural equality between types of two id spaces (or one), ignoring ids and string
 * offsets: records must agree word for word, names by content, referenced types recursively. Cycles
 * are handled coinductively (a pair under comparison is assumed equal, as libbpf's btf_dedup_is_equiv
 * does), so a type and an unrolled copy of it (what relocation appends) compare equal, which hashes
 * cannot promise. Pairs proven equal are remembered across calls; a failed call forgets what it assumed.
 */
export class TypeComparer {
  private readonly proven = new Set<number>();

  constructor(
    readonly a: Btf,
    readonly b: Btf,
  ) {}

  equivalent(idA: TypeId, idB: TypeId): boolean {
    const added: number[] = [];
    const work: number[] = [idA, idB];
    const { a, b } = this;
    const childrenA: number[] = [];
    const childrenB: number[] = [];
    let ok = true;
    while (ok && work.length > 0) {
      const y = work.pop() as number;
      const x = work.pop() as number;
      if (x === 0 || y === 0) {
        if (x !== y) ok = false;
        continue;
      }
      const ra = a.owner(x);
      const rb = b.owner(y);
      if (!ra || !rb) {
        ok = false;
        break;
      }
      // Exact while nr_types(a) * nr_types(b) < 2^53, far beyond any real BTF.
      const key = x * b.nrTypes + y;
      if (this.proven.has(key)) continue;
      this.proven.add(key);
      added.push(key);
      const atA = ra.recordOffset(x);
      const atB = rb.recordOffset(y);
      const infoA = ra.view.getUint32(atA + 4, ra.header.littleEndian);
      const infoB = rb.view.getUint32(atB + 4, rb.header.littleEndian);
      if (infoA !== infoB) {
        ok = false;
        break;
      }
      const kind = infoKind(infoA);
      childrenA.length = 0;
      childrenB.length = 0;
      const idWords = new Set<number>();
      visitTypeIdFields(ra.view, ra.header.littleEndian, atA, (f) => {
        idWords.add((f - atA) / 4);
        childrenA.push(ra.view.getUint32(f, ra.header.littleEndian));
      });
      visitTypeIdFields(rb.view, rb.header.littleEndian, atB, (f) =>
        childrenB.push(rb.view.getUint32(f, rb.header.littleEndian)),
      );
      const words = (BTF_TYPE_SIZE + trailingSize(kind, infoVlen(infoA))) / 4;
      for (let w = 0; w < words && ok; w++) {
        if (w === 1 || idWords.has(w)) continue;
        const va = ra.view.getUint32(atA + 4 * w, ra.header.littleEndian);
        const vb = rb.view.getUint32(atB + 4 * w, rb.header.littleEndian);
        if (isStringWord(kind, w)) ok = sameName(ra, va, rb, vb);
        else ok = va === vb;
      }
      for (let k = 0; k < childrenA.length; k++) work.push(childrenA[k] as number, childrenB[k] as number);
    }
    if (!ok) for (const key of added) this.proven.delete(key);
    return ok;
  }
}

/** Deep structural equality of one pair; see TypeComparer for batches. */
export function typesEquivalent(a: Btf, idA: TypeId, b: Btf, idB: TypeId): boolean {
  return new TypeComparer(a, b).equivalent(idA, idB);
}

function sameName(a: Btf, x: number, b: Btf, y: number): boolean {
  return eq(bytesOf(a, x), bytesOf(b, y));
}

function bytesOf(btf: Btf, off: number): Uint8Array | undefined {
  if (off === 0) return new Uint8Array(0);
  return btf.strings.isValidOffset(off) ? btf.strings.rawBytes(off) : undefined;
}

function eq(x: Uint8Array | undefined, y: Uint8Array | undefined): boolean {
  if (!x || !y) return false;
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}
