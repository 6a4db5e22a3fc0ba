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
  ['192.0.2.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  // IPv4-compatible (deprecated): ::a.b.c.d reaches a.b.c.d on stacks that still honour it.
  ['::', 96, 'ipv6'],
  // Local-use NAT64 (RFC 8215): translated by the operator's own gateway, so never a public target.
  ['64:ff9b:1::', 48, 'ipv6'],
  // Discard-only (RFC 6666).
  ['100::', 64, 'ipv6'],
  // Teredo: tunnels to an obfuscated IPv4 address through a relay; nothing a webhook needs.
  ['2001::', 32, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
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

/** The eight 16-bit groups of an IPv6 address (which `isIP` has accepted), dotted-quad tail included. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4Of(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * IPv6 forms that carry an IPv4 address a packet ends up at: IPv4-mapped (::ffff:a.b.c.d), NAT64 with the
 * well-known prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002:AABB:CCDD::/48, RFC 3056). The embedded address
 * must pass the IPv4 rules too, or `http://[64:ff9b::7f00:1]/` would reach 127.0.0.1 through a NAT64 gateway.
 */
export function embeddedIpv4(address: string): string | null {
  if (isIP(address) !== 6) return null;
  const g = ipv6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4Of(g[6]!, g[7]!);
  if (g[0] === 0x2002) return ipv4Of(g[1]!, g[2]!);
  return null;
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

function refused(host: string, address: string, via?: string): WebhookTargetError {
  const what = via ? `${via}, which embeds ${address}` : address;
  return new WebhookTargetError(
    `webhook target ${host} resolves to ${what}, a private, loopback or link-local address; ` +
      'allowlist it with BTFWATCH_WEBHOOK_ALLOW if this is intended',
  );
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
    const type = isIP(raw);
    if (type === 0) throw new WebhookTargetError(`webhook host ${host} resolved to ${raw}, not an address`);
    const family = type === 4 ? 'ipv4' : 'ipv6';
    if (allow.nets.check(raw, family)) continue;
    const v4 = embeddedIpv4(raw);
    if (v4 !== null) {
      if (forbidden.check(v4, 'ipv4') && !allow.nets.check(v4, 'ipv4')) throw refused(host, v4, raw);
      continue;
    }
    if (forbidden.check(raw, family)) throw refused(host, raw);
  }
}
