import { btfAssessmentDeps } from '@btfwatch/compat';
import type { Database } from '@btfwatch/db';
import { BaseCache } from './bases.ts';
import { Evaluator } from './engine.ts';

/** An evaluator over the database with its own base cache and the kernel's relocation step. */
export function createEvaluator(database: { db: Database }): Evaluator {
  return new Evaluator(database.db, new BaseCache(database.db), btfAssessmentDeps());
}
