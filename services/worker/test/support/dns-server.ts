// A small authoritative DNS server over UDP on a free loopback port, for
// tests that need names resolving to chosen addresses (127.0.0.1, ::1,
// 169.254.169.254, ...) through the real resolver path: a node:dns Resolver
// pointed at it sends real queries and parses real answers. A and AAAA only.
import { createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { parseIp } from '@media-cluster/config';

const TYPE_A = 1;
const TYPE_AAAA = 28;

export interface DnsQuery {
  name: string;
  type: 'A' | 'AAAA' | number;
}

export interface DnsServer {
  /** `127.0.0.1:<port>`, for `Resolver#setServers`. */
  readonly address: string;
  /** Every question asked so far, in order. */
  readonly queries: DnsQuery[];
  /** Sets (or replaces) the addresses a name answers with; IPv4 ones as A, IPv6 ones as AAAA. */
  set(name: string, addresses: string[]): void;
  stop(): Promise<void>;
}

function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const length = message[at]!;
    if (length === 0) return { name: labels.join('.').toLowerCase(), end: at + 1 };
    labels.push(message.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
}

/** Record data: 4 bytes for an A record, 16 for AAAA (parseIp keeps IPv4 as its mapped IPv6 form). */
function addressBytes(address: string): Buffer {
  const bytes = Buffer.from(parseIp(address)!);
  return isIPv4(address) ? bytes.subarray(12) : bytes;
}

export async function startDnsServer(records: Record<string, string[]> = {}): Promise<DnsServer> {
  const zone = new Map<string, string[]>();
  const set = (name: string, addresses: string[]) => {
    for (const a of addresses) if (!isIPv4(a) && !isIPv6(a)) throw new Error(`not an address: ${a}`);
    zone.set(name.toLowerCase(), addresses);
  };
  for (const [name, addresses] of Object.entries(records)) set(name, addresses);
  const queries: DnsQuery[] = [];
  const socket = createSocket('udp4');

  socket.on('message', (message, peer) => {
    if (message.length < 12) return;
    const { name, end } = readName(message, 12);
    const type = message.readUInt16BE(end);
    queries.push({ name, type: type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type });
    const known = zone.get(name);
    const answers = (known ?? []).filter((a) =>
      type === TYPE_A ? isIPv4(a) : type === TYPE_AAAA && isIPv6(a),
    );
    const header = Buffer.alloc(12);
    header.writeUInt16BE(message.readUInt16BE(0), 0); // the query's id
    // QR=1, opcode 0, AA=1, RD copied, RA=1; RCODE 3 (NXDOMAIN) for an unknown name.
    header.writeUInt16BE(0x8400 | (message.readUInt16BE(2) & 0x0100) | 0x0080 | (known ? 0 : 3), 2);
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(answers.length, 6);
    const question = message.subarray(12, end + 4);
    const records = answers.map((a) => {
      const rdata = addressBytes(a);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // class IN
      rr.writeUInt32BE(0, 6); // TTL 0: never cached
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, question, ...records]), peer.port, peer.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    set,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
