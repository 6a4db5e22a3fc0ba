export { Btf, RawTypeView } from './btf.ts';
export type { TypeId } from './btf.ts';
export { BtfBuilder } from './builder.ts';
export type { MemberSpec, NameArg, ParamSpec } from './builder.ts';
export { BaseDiff, checkModuleRefs, diffBases } from './diff.ts';
export type { BaseDiffData, BaseSummary, ModuleRefCheck } from './diff.ts';
export { distillBase } from './distill.ts';
export type { Distilled } from './distill.ts';
export { dumpRaw, formatRawType } from './dump.ts';
export { TypeComparer, typesEquivalent } from './equiv.ts';
export { BtfError, BtfRelocationError } from './errors.ts';
export type { BtfErrorCode } from './errors.ts';
export { StructuralHashes } from './hash.ts';
export { parseHeader } from './header.ts';
export type { ParsedHeader } from './header.ts';
export { openBtf, readBtfFromFile } from './input.ts';
export type { BtfFile } from './input.ts';
export { diffNamedTypes } from './named-diff.ts';
export type { NamedTypeDiff, NamedTypeEntry } from './named-diff.ts';
export { moduleBaseRefs } from './refs.ts';
export type { ModuleBaseRefs } from './refs.ts';
export { relocateSplit } from './relocate.ts';
export type { Relocation } from './relocate.ts';
export { StringTable } from './strings.ts';
export { binaryToText, bytesToText, textToBytes } from './text.ts';
export {
  Array,
  Const,
  Datasec,
  DeclTag,
  Enum,
  Enum64,
  Float,
  Func,
  FuncLinkage,
  FuncProto,
  Fwd,
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  Int,
  Member,
  Param,
  Ptr,
  Restrict,
  Struct,
  Typedef,
  TypeTag,
  Union,
  Var,
  VarLinkage,
  Void,
  Volatile,
} from './types.ts';
export type { Enum64Value, EnumValue, FwdKind, Type, VarSecinfo } from './types.ts';
export * from './wire.ts';
export * from './validate/index.ts';
