import type { DecoderOptions } from './compression.ts';
import { PkgCorruptError } from './errors.ts';
import { describeLayers, readKernelImage } from './kernel-image.ts';
import type { Limits } from './limits.ts';

export { locateBzImagePayload, type VmlinuzPayload } from './bzimage.ts';

export interface ExtractOptions {
  limits?: Partial<Limits>;
  decoders?: DecoderOptions;
}

/**
 * The vmlinux ELF of a kernel image whose payload is one (x86 bzImage, a compressed or plain vmlinux):
 * `readKernelImage(image).vmlinux`, for callers that need the ELF itself. Images that hold a raw kernel
 * instead (arm64, riscv64, s390x, armhf) are PKG_CORRUPT here: use readKernelImage for those.
 */
export async function extractVmlinux(image: Uint8Array, options: ExtractOptions = {}): Promise<Uint8Array> {
  const read = await readKernelImage(image, options);
  if (read.vmlinux) return read.vmlinux;
  throw new PkgCorruptError(
    `kernel image: ${describeLayers(read.layers)} holds a raw kernel, not a vmlinux ELF (use readKernelImage)`,
  );
}
