import { BlockList, isIP } from 'node:net';

/** Where a redirect may not lead unless the mirror URL itself is there: loopback, private, link-local… */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv6');

/** How internal a URL's host looks from its name alone: an address literal in the ranges, or localhost. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  const address = mapped ?? host;
  const type = isIP(address);
  return type !== 0 && INTERNAL.check(address, type === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The mirror address policy: an admin may point a mirror at a loopback or private address explicitly (a
 * local mirror, a test archive), but a redirect may not escalate — from a mirror on a public host to a
 * loopback, private or link-local one (169.254.169.254 is where cloud credentials live). Undefined when
 * the hop is allowed, else why not.
 */
export function redirectRefusal(from: string, to: string): string | undefined {
  const target = new URL(to);
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    return `a redirect to ${target.protocol} is not followed`;
  if (isInternalHost(target.hostname) && !isInternalHost(new URL(from).hostname))
    return `a redirect from ${new URL(from).host} to ${target.host}, a loopback, private or link-local address, is not followed`;
  return undefined;
}
