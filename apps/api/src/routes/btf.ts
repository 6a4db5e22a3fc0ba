import { Btf, BtfError, readBtfFromFile } from '@btfwatch/btf';
import { hasBlob, kernelsByBaseBtf, prepareBlob, putBlobs, type Database } from '@btfwatch/db';
import { PkgError, readKernelImage } from '@btfwatch/pkg';
import { badRequest, expandsTooFar } from '../errors.ts';
import { uploadDecoding } from '../upload-decoding.ts';
import type { Config } from '@btfwatch/config';
import type { Handlers } from './types.ts';

/** Blob kind of a vmlinux .BTF, whether a scanned kernel's or uploaded (the worker stores kernels' the same way). */
const BASE_BTF = 'base-btf';

export async function isBaseBtfKnown(db: Database, sha256: string): Promise<boolean> {
  return hasBlob(db, sha256, BASE_BTF);
}

const isRawBtf = (b: Uint8Array) =>
  b.byteLength >= 2 && ((b[0] === 0x9f && b[1] === 0xeb) || (b[0] === 0xeb && b[1] === 0x9f));

type Source = 'raw' | 'vmlinux' | 'vmlinuz';

const notBtfContainer = (detail: string) =>
  badRequest(
    'INVALID_BASE_BTF',
    `not a base BTF: ${detail}; send raw BTF (/sys/kernel/btf/vmlinux), a vmlinux ELF or a kernel image (vmlinuz, Image)`,
  );

/** The vmlinux .BTF in an upload: raw BTF as is, anything else read as a kernel image of any layout. */
async function uploadedBase(body: Buffer, config: Config): Promise<{ btf: Uint8Array; source: Source }> {
  let bytes: Uint8Array = body;
  let source: Source = 'raw';
  if (!isRawBtf(body)) {
    let image;
    try {
      image = await readKernelImage(body, uploadDecoding(config));
    } catch (err) {
      if (err instanceof PkgError && err.code === 'PKG_LIMIT_EXCEEDED')
        throw expandsTooFar(config.uploadExpandedLimitBytes, err.message);
      if (err instanceof PkgError) throw notBtfContainer(err.message);
      throw err;
    }
    if (!image.btf) throw badRequest('NO_BTF', `the kernel image has no BTF: ${image.noBtf ?? 'none found'}`);
    bytes = image.btf;
    source = image.layers.length === 1 && image.layers[0]!.format === 'elf' ? 'vmlinux' : 'vmlinuz';
  }
  try {
    const file = readBtfFromFile(bytes);
    if (file.looksSplit)
      throw badRequest(
        'NOT_BASE_BTF',
        "this is a module's split BTF, not a kernel's base BTF: upload the kernel's /sys/kernel/btf/vmlinux, vmlinux or vmlinuz",
      );
    return { btf: file.btf, source };
  } catch (err) {
    if (err instanceof BtfError) throw notBtfContainer(err.message);
    throw err;
  }
}

export const btfHandlers = {
  async uploadBaseBtf(request, reply) {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.byteLength === 0)
      throw badRequest(
        'EMPTY_UPLOAD',
        'send the base BTF as the request body (Content-Type: application/octet-stream)',
      );
    const { btf: bytes, source } = await uploadedBase(body, request.server.deps.config);
    let parsed: Btf;
    try {
      parsed = Btf.parse(bytes);
    } catch (err) {
      if (err instanceof BtfError) throw notBtfContainer(`${err.message} (${err.code})`);
      throw err;
    }
    const { db } = request.server.deps.database;
    const blob = prepareBlob(bytes, BASE_BTF);
    const known = await isBaseBtfKnown(db, blob.sha256);
    if (!known) await putBlobs(db, [blob]);
    const kernels = (await kernelsByBaseBtf(db, blob.sha256)).map((k) => k.id);
    return reply.code(known ? 200 : 201).send({
      sha256: blob.sha256,
      size: bytes.byteLength,
      nrTypes: parsed.nrTypes,
      strLen: parsed.strLen,
      source,
      kernels,
      links: {
        check: `/v1/compat/check?buildBase=${blob.sha256}&kernel=`,
        kernels: `/v1/kernels/by-btf/${blob.sha256}`,
      },
    });
  },
} satisfies Handlers;
