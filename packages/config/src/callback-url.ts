import {
  formatIp,
  type IpBytes,
  type IpRange,
  inRange,
  parseIp,
  parseRange,
  specialKind,
} from './ip-address.js';

/**
 * One entry of CALLBACK_ALLOWED_HOSTS:
 * - a host name, `hooks.example.com` or `hooks.example.com:8443`: callbacks may name it;
 * - an address or range, `127.0.0.1`, `10.0.0.0/8`, `::1`, `[::1]:8080`, `[fc00::/7]:443`,
 *   `10.0.0.0/8:8080`: callbacks may name an address in it, and a listed name may resolve
 *   to one (without it, loopback, private, link-local, unique-local and other
 *   non-public addresses are refused at delivery).
 * With a port, only that port.
 */
export type AllowRule =
  | { kind: 'name'; host: string; port?: number; text: string }
  | { kind: 'range'; range: IpRange; port?: number; text: string };

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** Splits `host:port`, `[v6]:port`, `[v6/n]`, bare IPv6 (no port) and IPv4 `a.b.c.d/n:port`. */
function splitPort(entry: string): { host: string; port?: string } {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return { host: entry };
    const rest = entry.slice(close + 1);
    return { host: entry.slice(1, close), ...(rest.startsWith(':') ? { port: rest.slice(1) } : {}) };
  }
  const colons = entry.split(':').length - 1;
  if (colons === 1) {
    const at = entry.indexOf(':');
    return { host: entry.slice(0, at), port: entry.slice(at + 1) };
  }
  return { host: entry }; // none, or a bare IPv6 address (no port without brackets)
}

/** Parses one entry; a string says what is wrong with it. */
export function parseAllowEntry(entry: string): AllowRule | string {
  const text = entry.trim();
  const { host, port: portText } = splitPort(text);
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535)
      return `"${text}": the port must be 1-65535`;
  }
  const withPort = port === undefined ? {} : { port };
  if (host.includes('/') || parseIp(host)) {
    const range = parseRange(host);
    if (!range) return `"${text}": not an IP address or CIDR range`;
    return { kind: 'range', range, ...withPort, text };
  }
  if (!HOST_NAME.test(host)) return `"${text}": not a host name, IP address or CIDR range`;
  return { kind: 'name', host: host.toLowerCase().replace(/\.$/, ''), ...withPort, text };
}

/** Every entry parsed, and what is wrong with the others (for config validation). */
export function parseAllowList(entries: readonly string[]): { rules: AllowRule[]; problems: string[] } {
  const rules: AllowRule[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const parsed = parseAllowEntry(entry);
    if (typeof parsed === 'string') problems.push(parsed);
    else rules.push(parsed);
  }
  return { rules, problems };
}

// Both services check every callback against the same array: parse it once.
const parsedLists = new WeakMap<readonly string[], AllowRule[]>();
function rulesOf(allowed: readonly string[]): AllowRule[] {
  let rules = parsedLists.get(allowed);
  if (!rules) {
    rules = parseAllowList(allowed).rules;
    parsedLists.set(allowed, rules);
  }
  return rules;
}

const portMatches = (rule: AllowRule, port: number) => rule.port === undefined || rule.port === port;

/** The URL's port, or its scheme's default. */
export function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The URL's host as an address when it is an IP literal (`[::1]` included). */
export function literalAddress(url: URL): IpBytes | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return parseIp(host);
}

/**
 * The one rule for job callbacks, applied by the api at job creation and by
 * the worker again at delivery: http(s), no credentials, and a host the
 * allow-list names (a name entry for a name, an address or range entry for an
 * IP literal, with the port when the entry has one). Anything else would let a
 * client make the worker POST wherever it likes (SSRF). At delivery the worker
 * also checks every address the name resolves to (`addressProblem`).
 *
 * Returns why `raw` is refused, or undefined when it is allowed.
 */
export function callbackUrlProblem(raw: string, allowedHosts: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'callbackUrl is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'callbackUrl must be http or https';
  if (url.username || url.password) return 'callbackUrl must not carry credentials';
  const port = effectivePort(url);
  const rules = rulesOf(allowedHosts);
  const address = literalAddress(url);
  const allowed = address
    ? rules.some((r) => r.kind === 'range' && inRange(address, r.range) && portMatches(r, port))
    : rules.some(
        (r) =>
          r.kind === 'name' &&
          r.host === url.hostname.toLowerCase().replace(/\.$/, '') &&
          portMatches(r, port),
      );
  return allowed ? undefined : 'callbackUrl host is not in the allowed list';
}

/**
 * Whether the worker may connect to `address` (a callback host's resolved, or
 * literal, address) on `port`: a public address always; a loopback, private,
 * link-local (cloud metadata), unique-local, unspecified or other special one
 * (IPv4-mapped, NAT64 and 6to4 spellings included) only when an address or
 * range entry of the allow-list covers it, with that port if it names one.
 *
 * Returns why it is refused, or undefined when it is allowed.
 */
export function addressProblem(
  address: string,
  port: number,
  allowedHosts: readonly string[],
): string | undefined {
  const bytes = parseIp(address);
  if (!bytes) return `"${address}" is not an IP address`;
  const kind = specialKind(bytes);
  if (kind === undefined) return undefined;
  const listed = rulesOf(allowedHosts).some(
    (r) => r.kind === 'range' && inRange(bytes, r.range) && portMatches(r, port),
  );
  return listed
    ? undefined
    : `the callback host resolves to ${formatIp(bytes)} (${kind}), which CALLBACK_ALLOWED_HOSTS does not list` +
        ` (add the address or its range, e.g. ${formatIp(bytes)}, to allow it)`;
}
