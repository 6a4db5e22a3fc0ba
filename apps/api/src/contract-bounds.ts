/** The largest id or count a request may name: Postgres `integer` columns stop here. */
export const MAX_REQUEST_INTEGER = 2147483647;

type Schema = Record<string, unknown>;

function boundIntegers(schema: unknown, depth = 0): void {
  if (schema === null || typeof schema !== 'object' || depth > 16) return;
  const s = schema as Schema;
  if (s.type === 'integer' && s.maximum === undefined && s.exclusiveMaximum === undefined)
    s.maximum = MAX_REQUEST_INTEGER;
  for (const key of ['items', 'additionalProperties', 'not']) boundIntegers(s[key], depth + 1);
  for (const key of ['properties']) {
    const props = s[key];
    if (props && typeof props === 'object') for (const p of Object.values(props)) boundIntegers(p, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(s[key])) for (const p of s[key] as unknown[]) boundIntegers(p, depth + 1);
}

/**
 * Bounds what a request may say, in one pass over the contract instead of route by route: every integer in
 * a parameter or request body without a maximum gets the int4 one, so `moduleBuild=99999999999999999999`
 * is a 400 from validation, never a database error. (Schemas reached only through $ref are components the
 * responses share; request parameters are inline.)
 */
export function boundRequestIntegers(specification: Record<string, unknown>): Record<string, unknown> {
  const paths = (specification.paths ?? {}) as Record<string, Record<string, unknown>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item) as Array<Schema>) {
      if (!op || typeof op !== 'object') continue;
      for (const p of (op.parameters ?? []) as Schema[]) boundIntegers(p.schema);
      const content = (op.requestBody as Schema | undefined)?.content as Record<string, Schema> | undefined;
      for (const media of Object.values(content ?? {})) boundIntegers(media.schema);
    }
  }
  return specification;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339 date-time, narrowed to what the database and `Date` both accept: years 0001–9999, no leap
 * second (`23:59:60`, which `Date` cannot hold), real calendar days.
 */
export function isStorableDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  if (year! < 1 || month! < 1 || month! > 12 || day! < 1 || hour! > 23 || minute! > 59 || second! > 59)
    return false;
  const daysInMonth = new Date(Date.UTC(2000, month!, 0)).getUTCDate();
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  if (day! > (month === 2 ? (leap ? 29 : 28) : daysInMonth)) return false;
  return Number.isFinite(Date.parse(value));
}
