/** Job names, verb-noun; each runs on its own queue of the same name. */
export const JOB_NAMES = ['scan-mirror', 'ingest-package', 'evaluate-kernel', 'deliver-webhook'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}
