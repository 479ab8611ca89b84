import { Resolver } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook, isAllowedCallback } from '../src/stages/deliver-webhook.js';
import { dnsResolver } from '../src/stages/resolve-host.js';
import { type DnsServer, startDnsServer } from './support/dns-server.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
const handlers = new Map<string, Handler>();
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      (handlers.get(path) ?? ((_q, s) => s.writeHead(404).end()))(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const body = { jobId: 'j1', status: 'succeeded', clustersUrl: 'http://api/v1/pets/p/clusters' };
const opts = { allowedHosts: ['127.0.0.1'], timeoutMs: 300, maxAttempts: 3, baseDelayMs: 1 };

describe('deliverWebhook', () => {
  it('POSTs the JSON body once when the receiver answers 2xx', async () => {
    let received: unknown;
    handlers.set('/ok', (_req, res, raw) => {
      received = JSON.parse(raw);
      res.writeHead(204).end();
    });
    const result = await deliverWebhook(`${base}/ok`, body, opts);
    expect(result).toEqual({ delivered: true, attempts: 1, status: 204 });
    expect(received).toEqual(body);
  });

  it('retries 5xx with backoff, up to maxAttempts', async () => {
    handlers.set('/flaky', (_req, res) => res.writeHead((hits.get('/flaky') ?? 0) < 3 ? 503 : 200).end());
    const result = await deliverWebhook(`${base}/flaky`, body, opts);
    expect(result).toMatchObject({ delivered: true, attempts: 3 });
  });

  it('does not retry a 4xx that retrying cannot fix', async () => {
    handlers.set('/gone', (_req, res) => res.writeHead(410).end());
    const result = await deliverWebhook(`${base}/gone`, body, opts);
    expect(result).toMatchObject({ delivered: false, attempts: 1, reason: 'http_status' });
    expect(hits.get('/gone')).toBe(1);
  });

  it('never follows a redirect (it could leave the allow-list)', async () => {
    handlers.set('/redirect', (_req, res) =>
      res.writeHead(307, { location: 'http://169.254.169.254/' }).end(),
    );
    const result = await deliverWebhook(`${base}/redirect`, body, { ...opts, maxAttempts: 1 });
    expect(result).toMatchObject({ delivered: false, reason: 'http_status', detail: 'HTTP 307' });
  });

  it('never follows a redirect to another host or scheme: the target sees nothing', async () => {
    const trap = `${base.replace('127.0.0.1', 'localhost')}/trap`;
    handlers.set('/to-host', (_req, res) => res.writeHead(302, { location: trap }).end());
    handlers.set('/to-scheme', (_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
    for (const path of ['/to-host', '/to-scheme']) {
      const result = await deliverWebhook(`${base}${path}`, body, { ...opts, maxAttempts: 1 });
      expect(result, path).toMatchObject({ delivered: false, reason: 'http_status' });
    }
    expect(hits.get('/trap')).toBeUndefined();
  });

  it('one deadline per attempt: a receiver that drips its answer a byte at a time is cut off', async () => {
    // Headers at once, then one body byte every 50 ms, forever: an idle timeout never fires.
    handlers.set('/drip', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    // And a receiver that drips its status line and headers.
    const slowHeaders = createServer();
    slowHeaders.on('connection', (socket) => {
      const text = 'HTTP/1.1 200 OK\r\nx-slow: ' + 'a'.repeat(1000);
      let i = 0;
      const timer = setInterval(() => (i < text.length ? socket.write(text[i++]!) : undefined), 50);
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => slowHeaders.listen(0, '127.0.0.1', r));
    try {
      const slowUrl = `http://127.0.0.1:${(slowHeaders.address() as AddressInfo).port}/`;
      for (const url of [`${base}/drip`, slowUrl]) {
        const started = performance.now();
        const result = await deliverWebhook(url, body, { ...opts, timeoutMs: 400, maxAttempts: 2 });
        const elapsed = performance.now() - started;
        expect(result, url).toMatchObject({ delivered: false, attempts: 2, reason: 'timeout' });
        expect(result.delivered === false && result.detail, url).toMatch(/within 400 ms/);
        // Two attempts of 400 ms and a 1-ms backoff; the drip alone would go on for ever.
        expect(elapsed, url).toBeLessThan(2 * 400 + 1_500);
      }
    } finally {
      slowHeaders.closeAllConnections();
      await new Promise((r) => slowHeaders.close(r));
    }
  });

  it('times out a receiver that never answers', async () => {
    handlers.set('/hang', () => {});
    const result = await deliverWebhook(`${base}/hang`, body, { ...opts, maxAttempts: 2 });
    expect(result).toMatchObject({ delivered: false, attempts: 2, reason: 'timeout' });
  });

  it('refuses hosts outside the allow-list without sending anything', async () => {
    const before = hits.get('/ok');
    const result = await deliverWebhook(`${base.replace('127.0.0.1', 'localhost')}/ok`, body, opts);
    expect(result).toMatchObject({ delivered: false, attempts: 0, reason: 'refused' });
    expect(hits.get('/ok')).toBe(before);
  });
});

describe('isAllowedCallback', () => {
  it.each([
    ['http://hooks.example.com/x', true],
    ['https://hooks.example.com:8443/x?y=1', true],
    ['ftp://hooks.example.com/x', false],
    ['http://evil.example.com/x', false],
    ['http://hooks.example.com.evil.net/x', false],
    ['http://10.0.0.1/x', false],
    ['not a url', false],
  ])('%s -> %s', (url, allowed) => {
    expect(isAllowedCallback(url, ['hooks.example.com'])).toBe(allowed);
  });

  // Same rules as the api's checkCallbackUrl, so a job it accepted is not refused at delivery.
  it.each([
    ['http://127.0.0.1:8080/x', true],
    ['http://HOOKS.example.com/x', true],
    ['http://127.0.0.1:8081/x', false],
    ['http://127.0.0.1/x', false],
    ['http://2130706433:8080/x', true], // the same listed address, spelled in decimal
    ['http://[::1]:8080/x', false],
    ['http://169.254.169.254/x', false],
    ['http://user:pass@hooks.example.com/x', false],
    ['http://hooks.example.com@169.254.169.254/x', false],
    ['javascript:alert(1)', false],
  ])('host:port and case entries: %s -> %s', (url, allowed) => {
    expect(isAllowedCallback(url, ['Hooks.Example.com', '127.0.0.1:8080'])).toBe(allowed);
  });
});

describe('deliverWebhook: the addresses a callback host resolves to (real DNS over UDP)', () => {
  let dns: DnsServer;
  let resolve: ReturnType<typeof dnsResolver>;
  let v6: Server | undefined;
  let v6Port = 0;
  const seen: { path: string; host: string | undefined }[] = [];

  beforeAll(async () => {
    dns = await startDnsServer({
      'loop.hooks.test': ['127.0.0.1'],
      'loop6.hooks.test': ['::1'],
      'metadata.hooks.test': ['169.254.169.254'],
      'mapped.hooks.test': ['::ffff:127.0.0.1'],
      'mixed.hooks.test': ['169.254.169.254', '127.0.0.1'],
      'public.hooks.test': ['93.184.216.34'],
    });
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([dns.address]);
    resolve = dnsResolver(resolver);
    handlers.set('/seen', (req, res) => {
      seen.push({ path: req.url ?? '', host: req.headers.host });
      res.writeHead(204).end();
    });
    // The same receiver on ::1, when this machine has IPv6 loopback.
    v6 = createServer((req, res) => {
      seen.push({ path: `v6${req.url}`, host: req.headers.host });
      res.writeHead(204).end();
    });
    await new Promise<void>((r, reject) => {
      v6!.once('error', reject);
      v6!.listen(0, '::1', r);
    }).catch(() => {
      v6 = undefined;
    });
    v6Port = v6 ? (v6.address() as AddressInfo).port : 0;
  });
  afterAll(async () => {
    await dns.stop();
    if (v6) await new Promise((r) => v6!.close(r));
  });

  const port = () => Number(new URL(base).port);
  const send = (host: string, allowedHosts: string[], path = '/seen', p = port()) =>
    deliverWebhook(`http://${host}:${p}${path}`, body, { ...opts, allowedHosts, resolve });

  it('refuses a listed name that resolves to 127.0.0.1, ::1, 169.254.169.254 or ::ffff:127.0.0.1, sending nothing', async () => {
    const before = seen.length;
    for (const [host, address, kind] of [
      ['loop.hooks.test', '127.0.0.1', 'loopback'],
      ['loop6.hooks.test', '::1', 'loopback'],
      ['metadata.hooks.test', '169.254.169.254', 'link-local'],
      ['mapped.hooks.test', '127.0.0.1', 'loopback'],
    ] as const) {
      const result = await send(host, [host]);
      expect(result, host).toMatchObject({ delivered: false, attempts: 0, reason: 'refused' });
      expect(result.delivered === false && result.detail, host).toContain(`resolves to ${address} (${kind}`);
    }
    expect(seen.length).toBe(before);
    // The names were really asked for, over DNS.
    expect(dns.queries.map((q) => q.name)).toEqual(
      expect.arrayContaining(['loop.hooks.test', 'metadata.hooks.test']),
    );
  });

  it('delivers when the allow-list names the address or its range (with its port, if given), to the checked address', async () => {
    const cases: [string, string[], boolean][] = [
      ['loop.hooks.test', ['loop.hooks.test', '127.0.0.1'], true],
      ['loop.hooks.test', ['loop.hooks.test', '127.0.0.0/8'], true],
      ['loop.hooks.test', ['loop.hooks.test', `127.0.0.1:${port()}`], true],
      ['loop.hooks.test', ['loop.hooks.test', `127.0.0.1:${port() + 1}`], false],
      ['mapped.hooks.test', ['mapped.hooks.test', '127.0.0.1'], true],
      ['loop.hooks.test', ['loop.hooks.test', '10.0.0.0/8'], false],
      // A name in the list never unlocks an address by itself.
      ['loop.hooks.test', ['loop.hooks.test', 'localhost'], false],
    ];
    for (const [host, allowed, ok] of cases) {
      const before = seen.length;
      const result = await send(host, allowed);
      expect(result.delivered, `${host} with ${allowed.join(',')}`).toBe(ok);
      expect(seen.length - before, `${host} with ${allowed.join(',')}`).toBe(ok ? 1 : 0);
      // The request names the host it was given, not the address it went to.
      if (ok) expect(seen.at(-1)?.host).toBe(`${host}:${port()}`);
    }
  });

  it('::1 the same way: refused unless listed, then delivered there', async (ctx) => {
    if (!v6) ctx.skip(); // no IPv6 loopback on this machine
    expect(await send('loop6.hooks.test', ['loop6.hooks.test'], '/x', v6Port)).toMatchObject({
      reason: 'refused',
    });
    const result = await send('loop6.hooks.test', ['loop6.hooks.test', `[::1]:${v6Port}`], '/x', v6Port);
    expect(result).toMatchObject({ delivered: true });
    expect(seen.at(-1)).toEqual({ path: 'v6/x', host: `loop6.hooks.test:${v6Port}` });
  });

  it('of several addresses, connects to the first allowed one, never to a refused one', async () => {
    const before = seen.length;
    const result = await send('mixed.hooks.test', ['mixed.hooks.test', '127.0.0.1']);
    expect(result).toMatchObject({ delivered: true });
    expect(seen.length - before).toBe(1);
  });

  it('resolves once per attempt: a DNS answer that changes after the check is never used', async () => {
    dns.set('rebind.hooks.test', ['127.0.0.1']);
    const asked = () => dns.queries.filter((q) => q.name === 'rebind.hooks.test').length;
    // Rebind to the metadata address as soon as the first answer went out.
    const flip = setInterval(() => {
      if (asked() > 0) dns.set('rebind.hooks.test', ['169.254.169.254']);
    }, 1);
    try {
      const before = seen.length;
      const result = await send('rebind.hooks.test', ['rebind.hooks.test', '127.0.0.1']);
      expect(result).toMatchObject({ delivered: true, attempts: 1 });
      expect(seen.length - before).toBe(1);
      // One A and one AAAA question: the connection asked nothing more.
      expect(asked()).toBe(2);
    } finally {
      clearInterval(flip);
    }
  });

  it('a name that does not resolve is a network failure, retried', async () => {
    const result = await send('nowhere.hooks.test', ['nowhere.hooks.test']);
    expect(result).toMatchObject({ delivered: false, attempts: 3, reason: 'network' });
    expect(result.delivered === false && result.detail).toMatch(/could not resolve nowhere\.hooks\.test/);
  });
});
