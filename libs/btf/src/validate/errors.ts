import { KIND_NAMES, type Kind } from '../wire.ts';

/** Negative errno values the kernel's parse returns (ENOTSUPP is the kernel-internal 524). */
export const EINVAL = -22;
export const E2BIG = -7;
export const ELOOP = -40;
export const ENOTSUPP = -524;

/** Stable reason codes for a rejected module BTF; one per distinct kernel check. */
export type ValidationCode =
  | 'HDR_LEN_NOT_FOUND'
  | 'HDR_NOT_FOUND'
  | 'HDR_UNSUPPORTED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_FLAGS'
  | 'NO_DATA'
  | 'SECTION_OFFSET'
  | 'SECTION_GAP'
  | 'SECTION_OVERLAP'
  | 'SECTION_TOO_LONG'
  | 'STRINGS_NOT_AT_END'
  | 'BAD_STRINGS'
  | 'META_TRUNCATED'
  | 'BAD_INFO'
  | 'BAD_KIND'
  | 'BAD_NAME_OFFSET'
  | 'BAD_NAME'
  | 'BAD_VALUE'
  | 'BAD_VLEN'
  | 'BAD_KIND_FLAG'
  | 'BAD_TYPE_ID'
  | 'BAD_SIZE'
  | 'BAD_INT_DATA'
  | 'BAD_INT_BITS'
  | 'BAD_INT_ENCODING'
  | 'BAD_TYPE_FIELD'
  | 'BAD_ARRAY_ELEM'
  | 'BAD_ARRAY_INDEX'
  | 'BAD_MEMBER_NAME_OFFSET'
  | 'BAD_MEMBER_NAME'
  | 'BAD_MEMBER_TYPE'
  | 'BAD_MEMBER_OFFSET'
  | 'MEMBER_OUTSIDE_STRUCT'
  | 'BAD_ENUM_NAME_OFFSET'
  | 'BAD_FUNC_LINKAGE'
  | 'BAD_VAR_LINKAGE'
  | 'BAD_SECINFO_TYPE'
  | 'BAD_SECINFO_OFFSET'
  | 'BAD_SECINFO_SIZE'
  | 'SECINFO_OUTSIDE_SECTION'
  | 'DATASEC_TOO_SMALL'
  | 'BAD_COMPONENT_IDX'
  | 'MODIFIER_LOOP'
  | 'TYPE_TAG_ORDER'
  | 'DANGLING_MODIFIER'
  | 'RELOCATION_FAILED';

/** Why the kernel rejected the BTF: the check, where, and the errno btf_parse_module returned. */
export interface ValidationError {
  code: ValidationCode;
  errno: number;
  /** Id of the type being checked (module ids continue the base's). */
  typeId?: number;
  /** Raw kind number of that type, and its kernel name when it has one. */
  kind?: number;
  kindName?: string;
  /** Which blob failed: the module's .BTF or its distilled .BTF.base. */
  blob: '.BTF' | '.BTF.base';
  /** Human-readable reason, the kernel's message where it prints one. */
  message: string;
}

export function kindName(kind: number): string | undefined {
  return KIND_NAMES[kind as Kind];
}
