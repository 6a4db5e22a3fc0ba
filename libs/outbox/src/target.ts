import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { checkTargetAddresses, checkTargetUrl, type TargetPolicy } from '@btfwatch/webhooks';

export interface PostResult {
  statusCode: number;
  /** First bytes of the response body, never more. */
  bodyPrefix: string;
  /** Where a 3xx answer pointed (never followed). */
  location: string | null;
}

const BODY_PREFIX_BYTES = 1024;

/** Resolves and checks the target against the policy; returns the address to connect to. */
export async function resolveTarget(
  rawUrl: string,
  policy: TargetPolicy,
): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  const url = checkTargetUrl(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) as 4 | 6 }]
    : await lookup(host, { all: true });
  checkTargetAddresses(
    host,
    addresses.map((a) => a.address),
    policy,
  );
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * POSTs to exactly the checked address (no re-resolution, no redirects: undici's `request` follows none),
 * with short timeouts: connecting, and the whole exchange, each within `timeoutMs`.
 */
export async function postPinned(
  target: { url: URL; address: string; family: 4 | 6 },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const agent = new Agent({
    connect: {
      timeout: timeoutMs,
      lookup: (_host, options, callback) => {
        if ((options as { all?: boolean }).all)
          callback(null, [{ address: target.address, family: target.family }]);
        else (callback as (e: null, a: string, f: number) => void)(null, target.address, target.family);
      },
    },
  });
  try {
    const res = await request(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'btfwatch-webhooks/1', ...headers },
      body,
      dispatcher: agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    let prefix = '';
    for await (const chunk of res.body) {
      prefix += Buffer.from(chunk as Uint8Array).toString('utf8');
      if (prefix.length >= BODY_PREFIX_BYTES) break;
    }
    res.body.destroy();
    const location = res.headers.location;
    return {
      statusCode: res.statusCode,
      bodyPrefix: prefix.slice(0, BODY_PREFIX_BYTES),
      location: (Array.isArray(location) ? location[0] : location) ?? null,
    };
  } finally {
    await agent.close().catch(() => undefined);
  }
}
