import { createServer } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { type MetricsServer, startMetricsServer, TelemetryError } from '../src/index.js';
import { telemetryState } from '../src/state.js';

const servers: MetricsServer[] = [];
async function start(options: Parameters<typeof startMetricsServer>[0]) {
  const server = await startMetricsServer({ host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}
const url = (server: MetricsServer, path: string) => `http://127.0.0.1:${server.port}${path}`;

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
