/**
 * Delay before each attempt of a delivery: the first at once, then a growing schedule spanning more than
 * 24 hours; after the last attempt fails the delivery is marked failed.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length;

/** When attempt `nextAttempt` (1-based) is due, given the failure time of the previous one; null when exhausted. */
export function nextAttemptAt(nextAttempt: number, failedAt: Date): Date | null {
  const delay = RETRY_SCHEDULE_MS[nextAttempt - 1];
  return delay === undefined ? null : new Date(failedAt.getTime() + delay);
}
