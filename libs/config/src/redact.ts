/**
 * Credentials in URLs (`scheme://user:password@host`) and in `Authorization`-style values, wherever
 * they may end up: job data and errors, log lines, webhook payloads, metrics labels. One owner, so a
 * new place that surfaces text only needs to call these.
 */

const REDACTED = '***';

// scheme://userinfo@ — userinfo runs up to the last '@' before the host's first '/', '?', '#' or space.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]*(?:@[^\s/?#@]*)*)@/gi;
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/** `text` with the user info of every URL in it (and bearer tokens) replaced by `***`. */
export function redactText(text: string): string {
  if (!text.includes('@') && !/bearer/i.test(text)) return text;
  return text.replace(URL_USERINFO, `$1${REDACTED}@`).replace(BEARER, `$1${REDACTED}`);
}

/** A URL with its user name and password replaced by `***`; any other text redacted as by redactText. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/**
 * A deep copy of `value` with every string redacted (objects, arrays, Error messages and stacks).
 * Non-plain objects other than Errors and Dates are returned as they are.
 */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, depth + 1)) as T;
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    for (const key of Object.getOwnPropertyNames(value)) {
      (copy as unknown as Record<string, unknown>)[key] = redactDeep(
        (value as unknown as Record<string, unknown>)[key],
        depth + 1,
      );
    }
    return copy as T;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out as T;
}
