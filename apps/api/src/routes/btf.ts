import { Btf, BtfError, readBtfFromFile } from '@btfwatch/btf';
import { hasBlob, kernelsByBaseBtf, prepareBlob, putBlobs, type Database } from '@btfwatch/db';
import { PkgError, detectCompression, extractVmlinux, locateBzImagePayload } from '@btfwatch/pkg';
import { badRequest } from '../errors.ts';
import type { Handlers } from './types.ts';

/** Blob kind of a vmlinux .BTF, whether a scanned kernel's or uploaded (the worker stores kernels' the same way). */
const BASE_BTF = 'base-btf';

export async function isBaseBtfKnown(db: Database, sha256: string): Promise<boolean> {
  return hasBlob(db, sha256, BASE_BTF);
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const isElf = (b: Uint8Array) => ELF_MAGIC.every((m, i) => b[i] === m);

type Source = 'raw' | 'vmlinux' | 'vmlinuz';

const notBtfContainer = (detail: string) =>
  badRequest(
    'INVALID_BASE_BTF',
    `not a base BTF: ${detail}; send raw BTF (/sys/kernel/btf/vmlinux), a vmlinux ELF or a vmlinuz`,
  );

/**
 * The vmlinux .BTF in an upload. A vmlinuz is only unpacked when it is a bzImage or starts compressed:
 * scanning arbitrary bytes for compression magics is what a package ingest may do, not an upload.
 */
async function uploadedBase(body: Buffer): Promise<{ btf: Uint8Array; source: Source }> {
  let elf: Uint8Array | null = null;
  let source: Source = 'raw';
  if (isElf(body)) {
    elf = body;
    source = 'vmlinux';
  } else if (locateBzImagePayloadSafe(body) || detectCompression(body) !== null) {
    try {
      elf = await extractVmlinux(body);
    } catch (err) {
      if (err instanceof PkgError) throw notBtfContainer(`vmlinuz: ${err.message}`);
      throw err;
    }
    source = 'vmlinuz';
  }
  try {
    const file = readBtfFromFile(elf ?? body);
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

function locateBzImagePayloadSafe(body: Buffer): boolean {
  try {
    return locateBzImagePayload(body) !== null;
  } catch (err) {
    // A bzImage header whose payload fields are wrong is still a (broken) vmlinuz: say so below.
    if (err instanceof PkgError) return true;
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
    const { btf: bytes, source } = await uploadedBase(body);
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
