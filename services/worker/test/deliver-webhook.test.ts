import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook, isAllowedCallback } from '../src/stages/deliver-webhook.js';

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
