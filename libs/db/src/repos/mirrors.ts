import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import {
  mirrorSuites,
  mirrors,
  type Mirror,
  type MirrorScanWarning,
  type MirrorSuite,
  type NewMirror,
} from '../schema/index.ts';

/** The settings a mirror can be changed in (PATCH /v1/mirrors/{id}); everything but identity and scan results. */
export type MirrorSettings = Partial<
  Pick<
    NewMirror,
    | 'kind'
    | 'url'
    | 'suites'
    | 'components'
    | 'arch'
    | 'match'
    | 'distro'
    | 'keyring'
    | 'insecure'
    | 'allowExpired'
    | 'scanIntervalSeconds'
  >
>;

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

/** Changes the given settings; the mirror as it is now, or undefined when there is none. */
export async function updateMirror(
  db: Executor,
  id: number,
  settings: MirrorSettings,
): Promise<Mirror | undefined> {
  if (Object.keys(settings).length === 0) return getMirror(db, id);
  const [row] = await db.update(mirrors).set(settings).where(eq(mirrors.id, id)).returning();
  return row;
}

export async function deleteMirror(db: Executor, id: number): Promise<boolean> {
  const rows = await db.delete(mirrors).where(eq(mirrors.id, id)).returning({ id: mirrors.id });
  return rows.length > 0;
}

/** The outcome of a scan: its error (null when it worked, if only in part) and what it warned about. */
export async function recordScan(
  db: Executor,
  id: number,
  at: Date,
  error: string | null,
  warnings?: MirrorScanWarning[],
): Promise<void> {
  await db
    .update(mirrors)
    .set({ lastScanAt: at, lastScanError: error, ...(warnings ? { lastScanWarnings: warnings } : {}) })
    .where(eq(mirrors.id, id));
}

/**
 * A suite whose scan failed while the others went on: the error is kept with the suite, and its state
 * (what the last good scan saw) is left as it was.
 */
export async function recordSuiteError(
  db: Executor,
  mirrorId: number,
  suite: string,
  at: Date,
  error: string,
): Promise<void> {
  await db
    .insert(mirrorSuites)
    .values({ mirrorId, suite, lastError: error, lastErrorAt: at })
    .onConflictDoUpdate({
      target: [mirrorSuites.mirrorId, mirrorSuites.suite],
      set: { lastError: error, lastErrorAt: at },
    });
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

/** What a scan of the suite that worked leaves for the next one; clears the suite's last error. */
export async function saveSuiteState(
  db: Executor,
  state: Omit<MirrorSuite, 'lastError' | 'lastErrorAt'>,
): Promise<void> {
  await db
    .insert(mirrorSuites)
    .values({ ...state, lastError: null, lastErrorAt: null })
    .onConflictDoUpdate({
      target: [mirrorSuites.mirrorId, mirrorSuites.suite],
      set: {
        indexSha256: state.indexSha256,
        etag: state.etag,
        lastModified: state.lastModified,
        signedBy: state.signedBy,
        scannedAt: state.scannedAt,
        state: state.state,
        lastError: null,
        lastErrorAt: null,
      },
    });
}
