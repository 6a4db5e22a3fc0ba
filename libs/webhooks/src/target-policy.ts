import { BlockList, isIP } from 'node:net';

/** Ranges a webhook may not reach unless allowlisted: loopback, private, link-local, CGNAT, ULA, multicast… */
const FORBIDDEN: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const forbidden = new BlockList();
for (const [net, prefix, type] of FORBIDDEN) forbidden.addSubnet(net, prefix, type);

export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
  readonly code = 'WEBHOOK_TARGET_REFUSED';
}

export interface TargetPolicy {
  /** Hostnames, IPs or CIDRs that may be reached although they are in a forbidden range. */
  allow: string[];
}

function allowList(entries: string[]): { hosts: Set<string>; nets: BlockList } {
  const hosts = new Set<string>();
  const nets = new BlockList();
  for (const entry of entries) {
    const [addr, prefix] = entry.split('/');
    const type = isIP(addr ?? '');
    if (type === 0) hosts.add(entry.toLowerCase());
    else if (prefix === undefined) nets.addAddress(addr!, type === 4 ? 'ipv4' : 'ipv6');
    else nets.addSubnet(addr!, Number(prefix), type === 4 ? 'ipv4' : 'ipv6');
  }
  return { hosts, nets };
}

function unmapped(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, type: 'ipv4' };
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** The URL itself: http(s) only, no credentials. Throws WebhookTargetError. */
export function checkTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError(`webhook URL ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetError(`webhook URL must be http or https, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new WebhookTargetError('webhook URL must not carry credentials');
  return url;
}

/**
 * Refuses addresses in forbidden ranges unless the host or the address is allowlisted. Callers resolve the
 * host themselves and connect to exactly the addresses checked here, so DNS rebinding cannot slip past.
 */
export function checkTargetAddresses(host: string, addresses: string[], policy: TargetPolicy): void {
  const allow = allowList(policy.allow);
  if (addresses.length === 0) throw new WebhookTargetError(`webhook host ${host} has no address`);
  if (allow.hosts.has(host.toLowerCase())) return;
  for (const raw of addresses) {
    const { address, type } = unmapped(raw);
    if (forbidden.check(address, type) && !allow.nets.check(address, type)) {
      throw new WebhookTargetError(
        `webhook target ${host} resolves to ${address}, a private, loopback or link-local address; ` +
          'allowlist it with BTFWATCH_WEBHOOK_ALLOW if this is intended',
      );
    }
  }
}
