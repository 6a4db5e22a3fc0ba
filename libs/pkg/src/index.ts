/**
 * @btfwatch/pkg — streaming extraction of what btfwatch needs from kernel packages (.deb, .rpm),
 * kernel images and module files. Bytes or streams in, values out. See README.md.
 */
export { readDeb, type DebInfo, type DebMetadata, type ReadDebOptions, type ReadOptions } from './deb.ts';
export {
  readRpm,
  type RpmInfo,
  type RpmMetadata,
  type RpmDependency,
  type RpmFile,
  type ReadRpmOptions,
} from './rpm.ts';
export {
  classifyPath,
  isInTreeModule,
  type FileKind,
  type FileCompression,
  type PathClass,
} from './classify.ts';
export { extractVmlinux, locateBzImagePayload, type VmlinuzPayload, type ExtractOptions } from './vmlinuz.ts';
export {
  describeLayers,
  readKernelImage,
  type ImageFormat,
  type ImageLayer,
  type KernelImage,
  type ReadImageOptions,
} from './kernel-image.ts';
export { compressedModuleSuffix, decompressModule, type DecompressModuleOptions } from './module.ts';
export { parseDeb822, deb822Field, type Deb822Paragraph } from './deb822.ts';
export {
  decompressStream,
  detectCompression,
  isolatedDecoders,
  type Compression,
  type DecoderOptions,
  type DecompressOptions,
} from './compression.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export type { ByteSource } from './byte-reader.ts';
export type { ArchiveEntry, FileDigest, PickedFile, PickOptions, OnFile, OnEntry, SelectFn } from './pick.ts';
export {
  PkgError,
  PkgTruncatedError,
  PkgBadMagicError,
  PkgCorruptError,
  PkgLimitExceededError,
  PkgUnsupportedCompressionError,
  PkgUnsafePathError,
  PkgUsageError,
  type PkgErrorCode,
} from './errors.ts';
export { extractPackage, extractPackageStream } from './extract.ts';
export type {
  ExtractedModule,
  ExtractedPackage,
  ExtractProgress,
  KernelImageFacts,
  KernelPart,
} from './extract.ts';
