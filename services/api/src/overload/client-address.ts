import { isIPv6 } from 'node:net';
import type { Request } from 'express';

/**
 * The address a client's failed authentications are counted against:
 * `req.ip` (the socket's address, or the one TRUST_PROXY's proxies forwarded).
 * IPv4-mapped IPv6 is the IPv4 address; other IPv6 addresses count per /64,
 * since one host usually holds a whole /64 and could otherwise rotate through it.
 */
export function clientAddress(req: Request): string {
  const raw = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  return normalizeAddress(raw);
}

export function normalizeAddress(raw: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(raw);
  if (mapped) return mapped[1]!;
  if (!isIPv6(raw)) return raw;
  return `${expandIPv6(raw).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without leading zeros (zone id dropped). */
function expandIPv6(address: string): string[] {
  const [bare = ''] = address.toLowerCase().split('%');
  const [head = '', tail] = bare.split('::');
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const left = part(head);
  const right = part(tail);
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')));
}
