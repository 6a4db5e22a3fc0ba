import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { Compressor, Decompressor } from 'zstd-napi';
import type { Executor } from '../database.ts';
import { blobs } from '../schema/index.ts';

const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 6 });
const decompressor = new Decompressor();

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface PreparedBlob {
  sha256: string;
  kind: string;
  size: number;
  encoding: 'identity' | 'zstd';
  data: Uint8Array;
}

/** Hash and (when it pays) compress outside any transaction, so transactions only write. */
export function prepareBlob(bytes: Uint8Array, kind: string): PreparedBlob {
  const packed = bytes.byteLength >= 256 ? compressor.compress(bytes) : undefined;
  const useZstd = packed !== undefined && packed.byteLength < bytes.byteLength * 0.9;
  return {
    sha256: sha256Hex(bytes),
    kind,
    size: bytes.byteLength,
    encoding: useZstd ? 'zstd' : 'identity',
    data: useZstd ? packed : bytes,
  };
}

/** Content-addressed: a blob already stored is left as is. */
export async function putBlobs(db: Executor, prepared: PreparedBlob[]): Promise<void> {
  const unique = [...new Map(prepared.map((b) => [b.sha256, b])).values()];
  for (let i = 0; i < unique.length; i += 200) {
    await db
      .insert(blobs)
      .values(unique.slice(i, i + 200))
      .onConflictDoNothing();
  }
}

export async function getBlob(db: Executor, sha256: string): Promise<Uint8Array | undefined> {
  const [row] = await db.select().from(blobs).where(eq(blobs.sha256, sha256));
  return row ? decode(row.encoding, row.data) : undefined;
}

export async function getBlobs(db: Executor, hashes: string[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < hashes.length; i += 500) {
    const rows = await db
      .select()
      .from(blobs)
      .where(inArray(blobs.sha256, hashes.slice(i, i + 500)));
    for (const row of rows) out.set(row.sha256, decode(row.encoding, row.data));
  }
  return out;
}

function decode(encoding: string, data: Uint8Array): Uint8Array {
  return encoding === 'zstd' ? decompressor.decompress(data) : data;
}

/** Whether a blob of this kind with this sha256 is stored. */
export async function hasBlob(db: Executor, sha256: string, kind: string): Promise<boolean> {
  const rows = await db
    .select({ sha256: blobs.sha256 })
    .from(blobs)
    .where(and(eq(blobs.sha256, sha256), eq(blobs.kind, kind)));
  return rows.length > 0;
}
