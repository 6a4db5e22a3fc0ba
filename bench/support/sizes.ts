// What the database holds, measured with Postgres's own accounting.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export interface TableSize {
  table: string;
  rows: number;
  /** pg_total_relation_size: heap + indexes + TOAST (with their free-space and visibility maps). */
  total: number;
  heap: number;
  indexes: number;
  toast: number;
}

/** Every table of the public schema (the application's), with exact row counts. */
export async function tableSizes(url: string): Promise<TableSize[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      table: string;
      total: string;
      heap: string;
      indexes: string;
      toast: string;
    }>(
      `select c.relname as table,
              pg_total_relation_size(c.oid) as total,
              pg_relation_size(c.oid) as heap,
              pg_indexes_size(c.oid) as indexes,
              coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) as toast
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r'
        order by c.relname`,
    );
    const out: TableSize[] = [];
    for (const r of rows) {
      const count = await client.query<{ n: string }>(`select count(*) as n from "${r.table}"`);
      out.push({
        table: r.table,
        rows: Number(count.rows[0]?.n ?? 0),
        total: Number(r.total),
        heap: Number(r.heap),
        indexes: Number(r.indexes),
        toast: Number(r.toast),
      });
    }
    return out;
  } finally {
    await client.end();
  }
}

export interface BlobStats {
  kind: string;
  count: number;
  zstd: number;
  /** Bytes before our compression. */
  raw: number;
  /** Bytes in the data column as we wrote them (zstd where it paid). */
  stored: number;
  /** pg_column_size of the data column: after TOAST's own compression, if any. */
  onDisk: number;
}

export async function blobStats(url: string): Promise<BlobStats[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(
      `select kind, count(*) as count, count(*) filter (where encoding = 'zstd') as zstd,
              sum(size) as raw, sum(octet_length(data)) as stored, sum(pg_column_size(data)) as on_disk
         from blobs group by kind order by kind`,
    );
    return rows.map((r) => ({
      kind: String(r.kind),
      count: Number(r.count),
      zstd: Number(r.zstd),
      raw: Number(r.raw),
      stored: Number(r.stored),
      onDisk: Number(r.on_disk),
    }));
  } finally {
    await client.end();
  }
}

/** `after − before` per table (tables absent before count from zero). */
export function sizeDelta(before: TableSize[], after: TableSize[]): TableSize[] {
  const prev = new Map(before.map((t) => [t.table, t]));
  return after.map((t) => {
    const b = prev.get(t.table);
    return {
      table: t.table,
      rows: t.rows - (b?.rows ?? 0),
      total: t.total - (b?.total ?? 0),
      heap: t.heap - (b?.heap ?? 0),
      indexes: t.indexes - (b?.indexes ?? 0),
      toast: t.toast - (b?.toast ?? 0),
    };
  });
}

export const sumTotal = (tables: TableSize[]): number => tables.reduce((n, t) => n + t.total, 0);

/** Bytes of every file under `path` (0 when it is gone); files removed while it walks are skipped. */
export function directoryBytes(path: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(path, name);
    try {
      const st = statSync(p);
      total += st.isDirectory() ? directoryBytes(p) : st.size;
    } catch {
      // Removed between listing and stat (an ingest finished).
    }
  }
  return total;
}
