import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { mirrorSuites, mirrors, type Mirror, type MirrorSuite, type NewMirror } from '../schema/index.ts';

export async function createMirror(db: Executor, values: NewMirror): Promise<Mirror> {
  const [row] = await db.insert(mirrors).values(values).returning();
  return row!;
}

export async function listMirrors(db: Executor): Promise<Mirror[]> {
  return db.select().from(mirrors).orderBy(asc(mirrors.id));
}

export async function getMirror(db: Executor, id: number): Promise<Mirror | undefined> {
  const [row] = await db.select().from(mirrors).where(eq(mirrors.id, id));
  return row;
}

export async function deleteMirror(db: Executor, id: number): Promise<boolean> {
  const rows = await db.delete(mirrors).where(eq(mirrors.id, id)).returning({ id: mirrors.id });
  return rows.length > 0;
}

export async function recordScan(db: Executor, id: number, at: Date, error: string | null): Promise<void> {
  await db.update(mirrors).set({ lastScanAt: at, lastScanError: error }).where(eq(mirrors.id, id));
}

export async function getSuiteState(
  db: Executor,
  mirrorId: number,
  suite: string,
): Promise<MirrorSuite | undefined> {
  const [row] = await db
    .select()
    .from(mirrorSuites)
    .where(and(eq(mirrorSuites.mirrorId, mirrorId), eq(mirrorSuites.suite, suite)));
  return row;
}

export async function listSuiteStates(db: Executor, mirrorId: number): Promise<MirrorSuite[]> {
  return db
    .select()
    .from(mirrorSuites)
    .where(eq(mirrorSuites.mirrorId, mirrorId))
    .orderBy(asc(mirrorSuites.suite));
}

export async function saveSuiteState(db: Executor, state: MirrorSuite): Promise<void> {
  await db
    .insert(mirrorSuites)
    .values(state)
    .onConflictDoUpdate({
      target: [mirrorSuites.mirrorId, mirrorSuites.suite],
      set: {
        indexSha256: state.indexSha256,
        etag: state.etag,
        lastModified: state.lastModified,
        signedBy: state.signedBy,
        scannedAt: state.scannedAt,
        state: state.state,
      },
    });
}
