export { Btf, RawTypeView } from './btf.ts';
export type { TypeId } from './btf.ts';
export { BtfError } from './errors.ts';
export type { BtfErrorCode } from './errors.ts';
export { parseHeader } from './header.ts';
export type { ParsedHeader } from './header.ts';
export { StringTable } from './strings.ts';
export * from './wire.ts';
export * from './validate/index.ts';
