// Real modules carrying BTF of our making, for what Debian's modules never show the kernel: names with
// bytes >= 0x80 and lines longer than a printk record. The module keeps its code and its .BTF section's
// size (the kernel takes the BTF's size from the section); only the section's bytes change.
import { Btf, BtfBuilder } from '@btfwatch/btf';
import { ElfFile } from '@btfwatch/elf';

/**
 * Split BTF over `base` of exactly `size` bytes: a FUNC_PROTO `void (void)` and a FUNC named by the
 * raw bytes `name`, the string section padded with NULs to fill the size.
 */
export function funcBtf(base: Btf, name: Uint8Array, size: number): Uint8Array {
  const make = (padTo?: number) => {
    const b = new BtfBuilder({ base });
    const proto = b.funcProto(0, []);
    b.func({ offset: b.stringBytes(name) }, proto);
    if (padTo !== undefined) b.padStringsTo(padTo);
    return { bytes: b.build(), strLen: b.strLen };
  };
  const first = make();
  if (first.bytes.length > size) throw new Error(`BTF of ${first.bytes.length} bytes does not fit ${size}`);
  const out = make(first.strLen + size - first.bytes.length).bytes;
  if (out.length !== size) throw new Error(`padded BTF is ${out.length} bytes, wanted ${size}`);
  return out;
}

/** A copy of module `ko` whose .BTF section holds `btf` (of the section's size). */
export function withBtf(ko: Uint8Array, btf: Uint8Array): Buffer {
  const section = ElfFile.parse(ko).section('.BTF');
  if (!section) throw new Error('module has no .BTF');
  if (section.size !== btf.length) throw new Error(`.BTF is ${section.size} bytes, got ${btf.length}`);
  const out = Buffer.from(ko);
  out.set(btf, section.offset);
  return out;
}

/** The module with a FUNC named `name` as its BTF's first checked name. */
export function moduleWithFuncName(ko: Uint8Array, base: Btf, name: Uint8Array): Buffer {
  const section = ElfFile.parse(ko).section('.BTF');
  if (!section) throw new Error('module has no .BTF');
  return withBtf(ko, funcBtf(base, name, section.size));
}
