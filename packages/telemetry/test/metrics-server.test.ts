import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { type MetricsServer, startMetricsServer, TelemetryError } from '../src/index.js';
import { isLoopback } from '../src/metrics-server.js';
import { telemetryState } from '../src/state.js';

const servers: MetricsServer[] = [];
async function start(options: Parameters<typeof startMetricsServer>[0]) {
  const server = await startMetricsServer({ host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}
const url = (server: MetricsServer, path: string) => `http://127.0.0.1:${server.port}${path}`;

/** An IPv4 address of this machine that is not loopback: requests to it come from a non-loopback peer. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  telemetryState().collect = undefined;
});

describe('startMetricsServer', () => {
  it('says the SDK is not started when this process has none (OTEL_SDK_DISABLED or no --import)', async () => {
    const server = await start({ port: 0 });
    const response = await fetch(url(server, '/metrics'));
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^# OpenTelemetry SDK not started/);
  });

  it('serves what the SDK Prometheus reader collects, under Prometheus names', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    try {
      provider.getMeter('t').createCounter('media_cluster_deadletter', { unit: '{job}' }).add(0);
      telemetryState().collect = () => reader.collect();
      const server = await start({ port: 0 });
      const text = await (await fetch(url(server, '/metrics'))).text();
      expect(text).toMatch(/^media_cluster_deadletter_total\{[^}]*\} 0$/m);
      const head = await fetch(url(server, '/metrics'), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    } finally {
      await provider.shutdown();
    }
  });

  it('asks for the bearer token on /metrics only, comparing it exactly', async () => {
    const server = await start({ port: 0, token: 's3cret' });
    expect((await fetch(url(server, '/metrics'))).status).toBe(401);
    expect(
      (await fetch(url(server, '/metrics'), { headers: { authorization: 'Bearer s3cre' } })).status,
    ).toBe(401);
    expect(
      (await fetch(url(server, '/metrics'), { headers: { authorization: 'Bearer s3cret!' } })).status,
    ).toBe(401);
    expect(
      (await fetch(url(server, '/metrics'), { headers: { authorization: 'Bearer s3cret' } })).status,
    ).toBe(200);
    expect((await fetch(url(server, '/health'))).status).toBe(200);
    expect((await fetch(url(server, '/ready'))).status).toBe(200);
  });

  it('without a token, serves /metrics to loopback clients only; probes answer everyone', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])
      expect(isLoopback(address), address).toBe(true);
    for (const address of [
      '10.0.0.1',
      '::ffff:10.0.0.1',
      '192.0.2.2',
      'fd00::2',
      '::',
      undefined,
      '1127.0.0.1',
    ])
      expect(isLoopback(address), String(address)).toBe(false);
  });

  it.skipIf(!externalAddress)(
    'bound to all interfaces: a non-loopback client gets 403 without a token, and needs the bearer token when one is set',
    async () => {
      const open = await start({ port: 0, host: '0.0.0.0' });
      const from = (server: MetricsServer, path: string) => `http://${externalAddress}:${server.port}${path}`;
      const refused = await fetch(from(open, '/metrics'));
      expect(refused.status).toBe(403);
      expect(await refused.text()).toMatch(/METRICS_TOKEN/);
      expect((await fetch(url(open, '/metrics'))).status).toBe(200);
      expect((await fetch(from(open, '/health'))).status).toBe(200);
      expect((await fetch(from(open, '/ready'))).status).toBe(200);

      const guarded = await start({ port: 0, host: '0.0.0.0', token: 's3cret-metrics-token' });
      expect((await fetch(from(guarded, '/metrics'))).status).toBe(401);
      const auth = { authorization: 'Bearer s3cret-metrics-token' };
      expect((await fetch(from(guarded, '/metrics'), { headers: auth })).status).toBe(200);
      // A token, once set, is asked of loopback clients too.
      expect((await fetch(url(guarded, '/metrics'))).status).toBe(401);
    },
  );

  it('answers /ready with 503 naming the failed dependency', async () => {
    const server = await start({
      port: 0,
      ready: async () => ({ ok: false, checks: { redis: 'ok', postgres: 'connect ECONNREFUSED' } }),
    });
    const response = await fetch(url(server, '/ready'));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ok: false,
      checks: { redis: 'ok', postgres: 'connect ECONNREFUSED' },
      failed: ['postgres'],
    });
  });

  it('treats a check that throws, hangs, or contradicts itself as failed', async () => {
    const server = await start({
      port: 0,
      checkTimeoutMs: 100,
      health: async () => {
        throw new Error('boom');
      },
      ready: () => new Promise(() => {}),
    });
    const health = await fetch(url(server, '/health'));
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, checks: { check: 'boom' }, failed: ['check'] });
    const ready = await fetch(url(server, '/ready'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ok: false, checks: { check: 'timed out after 100 ms' } });

    const liar = await start({ port: 0, ready: async () => ({ ok: true, checks: { redis: 'NOAUTH' } }) });
    expect((await fetch(url(liar, '/ready'))).status).toBe(503);
  });

  it('answers 404 and 405 for anything else', async () => {
    const server = await start({ port: 0 });
    expect((await fetch(url(server, '/nope'))).status).toBe(404);
    const post = await fetch(url(server, '/metrics'), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('fails with a stable code when the port is taken, and rejects bad options', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await start({ port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TelemetryError);
      expect(error).toMatchObject({ code: 'TELEMETRY_METRICS_SERVER_LISTEN_FAILED' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await expect(start({ port: 70_000 })).rejects.toMatchObject({ code: 'TELEMETRY_CONFIG_INVALID' });
    await expect(start({ port: 0, token: '' })).rejects.toMatchObject({ code: 'TELEMETRY_CONFIG_INVALID' });
  });

  it('close() is idempotent, drops keep-alive connections and frees the port', async () => {
    const server = await start({ port: 0 });
    const response = await fetch(url(server, '/health'));
    expect(response.status).toBe(200);
    expect(telemetryState().untracedPorts.has(server.port)).toBe(true);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(telemetryState().untracedPorts.has(server.port)).toBe(false);
    const again = await start({ port: server.port });
    expect(again.port).toBe(server.port);
  });
});
