import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { migrateDatabase, openDatabase, queryRows, type DatabaseHandle } from '@btfwatch/db';
import { createTempDatabase, tempDir } from '../../support/services.ts';

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  const rows = await queryRows<{ table_name: string }>(
    handle.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

const expectedTables = [
  'alerts',
  'base_pairs',
  'blobs',
  'catalog_versions',
  'jobs',
  'kernel_builds',
  'kernel_packages',
  'mirror_suites',
  'mirrors',
  'module_builds',
  'package_locations',
  'packages',
  'verdicts',
  'webhook_deliveries',
  'webhooks',
];

test('migrations apply to an empty Postgres database, twice', async () => {
  const temp = await createTempDatabase();
  try {
    for (let round = 0; round < 2; round++) {
      const handle = await openDatabase({ url: temp.url });
      try {
        await migrateDatabase(handle);
        assert.deepEqual(await tableNames(handle), expectedTables);
      } finally {
        await handle.close();
      }
    }
  } finally {
    await temp.drop();
  }
});

test('concurrent starters migrate one Postgres database without conflict', async () => {
  const temp = await createTempDatabase();
  const handles = await Promise.all([1, 2, 3].map(() => openDatabase({ url: temp.url })));
  try {
    await Promise.all(handles.map((h) => migrateDatabase(h)));
    assert.deepEqual(await tableNames(handles[0]!), expectedTables);
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await temp.drop();
  }
});

test('migrations apply to an empty embedded PGlite database, twice', async () => {
  const dir = tempDir();
  try {
    for (let round = 0; round < 2; round++) {
      const handle = await openDatabase({ dataDir: dir.path });
      try {
        await migrateDatabase(handle);
        assert.deepEqual(await tableNames(handle), expectedTables);
      } finally {
        await handle.close();
      }
    }
  } finally {
    dir.remove();
  }
});

test('bytea round-trips as Uint8Array on both drivers', async () => {
  const temp = await createTempDatabase();
  const dir = tempDir();
  const handles = [await openDatabase({ url: temp.url }), await openDatabase({ dataDir: dir.path })];
  try {
    for (const handle of handles) {
      await migrateDatabase(handle);
      const { blobs } = await import('@btfwatch/db');
      const data = new Uint8Array([0, 1, 2, 255, 128]);
      await handle.db
        .insert(blobs)
        .values({ sha256: 'x', kind: 'test', size: 5, encoding: 'identity', data });
      const [row] = await handle.db.select().from(blobs);
      assert.ok(row?.data instanceof Uint8Array, `${handle.kind}: bytea decodes to Uint8Array`);
      assert.deepEqual([...row.data], [...data]);
    }
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await temp.drop();
    dir.remove();
  }
});
