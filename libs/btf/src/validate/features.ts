// What a given kernel version's module-BTF validation (btf_parse_module in kernel/bpf/btf.c) checks.
//
// Every entry names where it was confirmed. "source" means read in that version's kernel/bpf/btf.c
// (Debian linux-source 6.1.192, 6.12.117, 7.2.13; upstream 5.11). "patch" means dated from the public
// patch that introduced it (the release is the next merge window after it was applied); those edges are
// the least certain and are called out in validate/README.md.

export type KernelVersion = readonly [major: number, minor: number, patch: number];

export interface KernelBtfFeatures {
  version: KernelVersion;
  /** Kernel loads module split BTF at all (CONFIG_DEBUG_INFO_BTF_MODULES, btf_module_notify). 5.11, source. */
  moduleBtf: boolean;
  /** Highest BTF kind check_meta accepts. DATASEC 15 (5.11), FLOAT 16 (5.13), DECL_TAG 17 (5.16), TYPE_TAG 18 (5.17), ENUM64 19 (6.0). */
  maxKind: number;
  /** 7-bit kind and 24-bit vlen in btf_type.info, no "Invalid btf_info" mask check (7.2 source; edge unverified, assumed 7.0). */
  wideInfo: boolean;
  /** btf_header carries layout_off/layout_len (32-byte header; strings need not be last). Same series as wideInfo. */
  layoutSection: boolean;
  /** pr_err format of BPF_LOG_KERNEL lines: "BPF:%s\n" before 5.17, "BPF: %s" plus a newline if missing since (patch 2021-11-02). */
  logPrefix: 'BPF:' | 'BPF: ';
  /** KSYM_NAME_LEN bounding identifier length: 128, 512 from 6.1 (source). */
  ksymNameLen: number;
  /** '.' allowed in every identifier (FUNC, STRUCT, member ...) — patch 2023-06-15 ("Cc: stable"), 6.1.192 source has it. */
  identifierDots: boolean;
  /** DATASEC names: any printable character (patch bd70a8fb7ca4, 6.9); the first character too since the 2024-08 fix (6.12 source). */
  sectionNames: 'identifier' | 'printable-skip-first' | 'printable';
  /** DATASEC with vlen 0 rejected ("vlen == 0") — removed by "bpf: permit size-0 datasec" (patch 2021-01-19 → 5.12). */
  datasecRequiresVlen: boolean;
  /** ENUM kind_flag (signedness) accepted: 6.0 with ENUM64 (before: "Invalid btf_info kind_flag"). */
  enumKindFlag: boolean;
  /** TYPE_TAG and DECL_TAG may set kind_flag (attribute tags): patch 2025-01 → 6.15; 7.2 source has it. */
  tagKindFlag: boolean;
  /** btf_check_type_tags after the metas: 5.17 (with TYPE_TAG) until replaced by btf_check_modifier_chain_length. */
  modifierChainCheck: 'none' | 'type-tags' | 'chain-length';
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH exists: 5.18 (5e214f2e43e4). Before it a rejected BTF always fails the load. */
  allowMismatchOption: boolean;
  /**
   * With MODULE_ALLOW_BTF_MISMATCH=y the per-type/per-member verifier lines are suppressed and the final
   * "failed to validate module" line becomes a once-per-boot notice (patch 2022-11 → 6.2; 6.12 source).
   */
  quietMismatch: boolean;
  /** .BTF.base (distilled base) is parsed and the split relocated onto vmlinux: 6.11 (6.12 source). */
  distilledBase: boolean;
  /**
   * The most bytes vprintk_store reserves for one record, the KERN_<LEVEL> prefix and a NUL included:
   * LOG_LINE_MAX = 1024 - PREFIX_MAX(32) = 992 up to 6.2 (6.1 source; Debian builds leave
   * PRINTK_CALLER unset, which would make it 976), PRINTKRB_RECORD_MAX = 1024 since "printk: adjust
   * string limit macros" (patch 2023-01-05 → 6.3; 6.12 and 7.2 source). A longer line is cut after
   * 989 and 1021 visible bytes.
   */
  printkRecordMax: number;
}

/** The version's feature set; versions before 5.11 have no module BTF at all. */
export function kernelBtfFeatures(version: string | KernelVersion): KernelBtfFeatures {
  const v = typeof version === 'string' ? parseKernelVersion(version) : version;
  const at = (major: number, minor: number, patch = 0) => compareVersions(v, [major, minor, patch]) >= 0;
  const wide = at(7, 0);
  let maxKind = 15;
  if (at(5, 13)) maxKind = 16;
  if (at(5, 16)) maxKind = 17;
  if (at(5, 17)) maxKind = 18;
  if (at(6, 0)) maxKind = 19;
  return {
    version: v,
    moduleBtf: at(5, 11),
    maxKind,
    wideInfo: wide,
    layoutSection: wide,
    logPrefix: at(5, 17) ? 'BPF: ' : 'BPF:',
    ksymNameLen: at(6, 1) ? 512 : 128,
    identifierDots: at(6, 5) || stableBackport(v, STABLE_IDENTIFIER_DOTS),
    sectionNames: at(6, 12) ? 'printable' : at(6, 9) ? 'printable-skip-first' : 'identifier',
    datasecRequiresVlen: !at(5, 12),
    enumKindFlag: at(6, 0),
    tagKindFlag: at(6, 15),
    modifierChainCheck: wide ? 'chain-length' : at(5, 17) ? 'type-tags' : 'none',
    allowMismatchOption: at(5, 18),
    quietMismatch: at(6, 2),
    distilledBase: at(6, 11),
    printkRecordMax: at(6, 3) ? 1024 : 992,
  };
}

/**
 * Stable series that took "bpf: Accept function names that contain dots" (Cc: stable). The first fixed
 * release per series is an estimate from the stable queue dates; 6.1.192 is confirmed by source.
 */
const STABLE_IDENTIFIER_DOTS: ReadonlyArray<KernelVersion> = [
  [6, 1, 35],
  [5, 15, 118],
  [5, 10, 185],
];

function stableBackport(v: KernelVersion, fixed: ReadonlyArray<KernelVersion>): boolean {
  return fixed.some(([major, minor, patch]) => v[0] === major && v[1] === minor && v[2] >= patch);
}

/** "6.1.0-56-amd64", "6.1.192-2", "6.12.117+deb13-amd64", "7.2", [6, 1, 192] → numeric triple. */
export function parseKernelVersion(text: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) throw new RangeError(`not a kernel version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: KernelVersion, b: KernelVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
