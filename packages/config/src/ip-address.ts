import { isIPv4, isIPv6 } from 'node:net';

/**
 * An IP address as 16 bytes. IPv4 is kept in its IPv4-mapped IPv6 form
 * (`::ffff:a.b.c.d`), so `127.0.0.1` and `::ffff:127.0.0.1` are one address
 * and one rule covers both spellings.
 */
export type IpBytes = Uint8Array;

/** An address range: the first `bits` bits of `base` (IPv4 prefixes counted from bit 96). */
export interface IpRange {
  base: IpBytes;
  bits: number;
  /** As written, for messages. */
  text: string;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function v4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv4 or IPv6 literal (no brackets, no zone), or undefined. */
export function parseIp(text: string): IpBytes | undefined {
  if (isIPv4(text)) return Uint8Array.from([...MAPPED_PREFIX, ...v4Bytes(text)]);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // A trailing dotted quad (::ffff:1.2.3.4) is the last 32 bits.
    tail = v4Bytes(text.slice(lastColon + 1));
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = body.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all =
    rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/** `10.0.0.0/8`, `fc00::/7` or a single address (`127.0.0.1` = /32, `::1` = /128); undefined when invalid. */
export function parseRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const base = parseIp(address);
  if (!base) return undefined;
  const v4 = isIPv4(address);
  const max = v4 ? 32 : 128;
  const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
  if (slash >= 0 && !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { base, bits: v4 ? 96 + prefix : prefix, text };
}

export function inRange(address: IpBytes, range: IpRange): boolean {
  for (let bit = 0; bit < range.bits; bit += 8) {
    const take = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((address[bit / 8]! & mask) !== (range.base[bit / 8]! & mask)) return false;
  }
  return true;
}

/** Back to text: dotted quad for IPv4 (mapped form), else the RFC 5952 short form. */
export function formatIp(address: IpBytes): string {
  if (MAPPED_PREFIX.every((b, i) => address[i] === b)) return [...address.subarray(12)].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (address[2 * i]! << 8) | address[2 * i + 1]!);
  // The longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

const range = (text: string): IpRange => {
  const parsed = parseRange(text);
  if (!parsed) throw new Error(`bad built-in range ${text}`);
  return parsed;
};

/**
 * Addresses a callback must not reach unless the allow-list names them: what
 * is not the public internet (this host, the local networks, the cloud
 * metadata service at 169.254.169.254) and what no host should be sent to.
 * IPv4 rules cover IPv4-mapped IPv6 (`::ffff:127.0.0.1`) by construction.
 */
export const SPECIAL_RANGES: readonly { range: IpRange; kind: string }[] = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (carrier-grade NAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (incl. cloud metadata)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved (incl. broadcast)'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::/48', 'local NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
].map(([text, kind]) => ({ range: range(text!), kind: kind! }));

/** NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: it is judged as that address. */
function embeddedIpv4(address: IpBytes): IpBytes | undefined {
  const wellKnownNat64 = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
  if (wellKnownNat64.every((b, i) => address[i] === b))
    return Uint8Array.from([...MAPPED_PREFIX, ...address.subarray(12)]);
  if (address[0] === 0x20 && address[1] === 0x02)
    return Uint8Array.from([...MAPPED_PREFIX, ...address.subarray(2, 6)]);
  return undefined;
}

/** What kind of special address this is (e.g. "loopback"), or undefined for a public one. */
export function specialKind(address: IpBytes): string | undefined {
  const embedded = embeddedIpv4(address);
  if (embedded) return specialKind(embedded);
  return SPECIAL_RANGES.find(({ range: r }) => inRange(address, r))?.kind;
}
