import { hostname } from 'node:os';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '@media-cluster/testkit';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt, type Fixture, type FixtureLine, startFixture } from './helpers/fixture.js';

// Export quickly so tests wait for data, not for the default 1 s / 15 s cycles.
const FAST_EXPORT = {
  OTEL_BSP_SCHEDULE_DELAY: '100',
  OTEL_BLRP_SCHEDULE_DELAY: '100',
  OTEL_METRIC_EXPORT_INTERVAL: '500',
};

const running: Fixture[] = [];
const receivers: OtlpReceiver[] = [];

async function fixture(env: Record<string, string>): Promise<Fixture> {
  const f = await startFixture(env);
  running.push(f);
  return f;
}

async function receiver(): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver();
  receivers.push(r);
  return r;
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(() => assertBuilt());

afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

describe('register: traces and logs over OTLP', () => {
  it('exports the server span with the route template, no raw id or query, under the service name', async () => {
    const otlp = await receiver();
    const app = await fixture({
      ...otlp.exporterEnv(),
      ...FAST_EXPORT,
      OTEL_SERVICE_NAME: 'fixture-traces',
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: inject('databaseUrl'),
    });

    const { traceId } = await getJson(app.url('/v1/pets/rex-the-dog-42/photos?token=supersecret'));
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const [server] = await otlp.waitForSpans({
      traceId: traceId as string,
      where: (s) => s.kind === 'SERVER',
    });
    const trace = await otlp.waitForSpans({ traceId: traceId as string, count: 2 });

    expect(server?.name).toBe('GET /v1/pets/:petId/photos');
    expect(server?.attributes['http.route']).toBe('/v1/pets/:petId/photos');
    expect(server?.attributes['url.path']).toBe('/v1/pets/{petId}/photos');
    expect(server?.attributes).not.toHaveProperty('url.query');
    expect(server?.resource['service.name']).toBe('fixture-traces');
    expect(server?.resource['service.version']).toBe('0.1.0');
    // Stable per replica (the host name), so a restarted process keeps its metric series.
    expect(server?.resource['service.instance.id']).toBe(hostname());

    // The ioredis span is a child of the server span, without arguments. Express itself adds no
    // span (the route template is all it contributes): a handler span would repeat the server span.
    const redisSet = trace.find((s) => s.kind === 'CLIENT' && /set/i.test(s.name));
    expect(redisSet?.parentSpanId, otlp.renderTrace(traceId as string)).toBe(server?.spanId);
    expect(trace.filter((s) => s.scope.name.includes('express'))).toEqual([]);
    const everything = JSON.stringify(trace);
    expect(everything).not.toContain('rex-the-dog');
    expect(everything).not.toContain('supersecret');
    expect(everything).not.toContain('secret-value');

    // A path no route matches keeps the method as its name and a redacted path.
    const unmatched = await fetch(app.url('/v1/pets/rex-the-dog-42/unknown'));
    expect(unmatched.status).toBe(404);
    const [notFound] = await otlp.waitForSpans({
      where: (s) => s.kind === 'SERVER' && s.attributes['http.response.status_code'] === 404,
    });
    expect(notFound?.name).toBe('GET');
    expect(notFound?.attributes['url.path']).toBe('/v1/pets/{petId}/unknown');

    // pg: the statement text with placeholders, never the parameter values.
    const job = await getJson(app.url('/v1/jobs/job-secret-77'));
    const jobTrace = await otlp.waitForSpans({ traceId: job.traceId as string, count: 2 });
    const query = jobTrace.find((s) => s.kind === 'CLIENT');
    expect(query?.attributes['db.query.text'] ?? query?.attributes['db.statement']).toBe(
      'SELECT $1::text AS job_id',
    );
    expect(JSON.stringify(jobTrace)).not.toContain('job-secret-77');
    expect(jobTrace.find((s) => s.kind === 'SERVER')?.attributes['url.path']).toBe('/v1/jobs/{jobId}');

    // An outgoing call: the client span's url.full has no query and no raw id, and the
    // callee's server span continues the same trace (traceparent injected).
    const callback = await getJson(app.url('/v1/jobs/j-1/callback'));
    const callbackTrace = await otlp.waitForSpans({ traceId: callback.traceId as string, count: 3 });
    const client = callbackTrace.find((s) => s.kind === 'CLIENT' && s.scope.name.includes('http'));
    expect(client?.attributes['url.full']).toBe(`http://127.0.0.1:${app.port}/v1/pets/{petId}/photos`);
    const callee = callbackTrace.find((s) => s.kind === 'SERVER' && s.parentSpanId === client?.spanId);
    expect(callee?.name).toBe('GET /v1/pets/:petId/photos');
    expect(JSON.stringify(callbackTrace)).not.toMatch(/hook-secret|cb-pet-9/);

    // The fixture pings Redis every 50 ms and Postgres once outside any span: none of that is traced.
    const stray = (s: ReceivedSpan) => s.parentSpanId === '' && s.kind !== 'SERVER';
    expect(otlp.spans.filter(stray).map((s) => s.name)).toEqual([]);
    expect(otlp.spans.some((s) => /ping/i.test(s.name))).toBe(false);
  });

  it('adds trace_id/span_id to pino lines inside a span and sends the records over OTLP', async () => {
    const otlp = await receiver();
    const app = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT, OTEL_SERVICE_NAME: 'fixture-logs' });

    const { traceId } = await getJson(app.url('/v1/pets/p1/photos'));
    const line = await app.waitForLine(
      (l: FixtureLine) => l.msg === 'listing photos' && l.trace_id === traceId,
      'a correlated log line',
    );
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line.trace_flags).toBe('01');
    expect(line).toMatchObject({ level: 'info', name: 'fixture', component: 'test', route: 'photos' });

    const spans = await otlp.waitForSpans({ traceId: traceId as string, count: 1 });
    expect(spans.map((s) => s.spanId)).toContain(line.span_id);

    const [record] = await otlp.waitForLogs({ traceId: traceId as string, body: 'listing photos' });
    expect(record?.spanId).toBe(line.span_id);
    expect(record?.severityText).toBe('info');
    expect(record?.attributes).toMatchObject({ route: 'photos', component: 'test' });
    expect(record?.resource['service.name']).toBe('fixture-logs');

    // Lines outside a span carry no trace fields (the fixture logs nothing else, so check the shape).
    expect(app.otherOutput.join('')).toBe('');
  });

  it('samples nothing with TRACE_SAMPLE_RATE=0 and everything with 1; OTEL_TRACES_SAMPLER wins', async () => {
    const otlp = await receiver();
    const none = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT, TRACE_SAMPLE_RATE: '0' });
    const all = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT, TRACE_SAMPLE_RATE: '1' });
    const off = await fixture({
      ...otlp.exporterEnv(),
      ...FAST_EXPORT,
      TRACE_SAMPLE_RATE: '1',
      OTEL_TRACES_SAMPLER: 'always_off',
    });

    const unsampled: unknown[] = [];
    for (let i = 0; i < 20; i++) unsampled.push((await getJson(none.url(`/v1/jobs/j${i}`))).traceId);
    const sampled = await Promise.all(
      [1, 2, 3].map(async (i) => (await getJson(all.url(`/v1/jobs/j${i}`))).traceId),
    );
    const forcedOff = await getJson(off.url('/v1/pets/p1/photos'));
    expect(forcedOff.sampled).toBe(false);

    await otlp.waitForSpans({ where: (s) => sampled.includes(s.traceId), count: 3 });
    // Shutting down flushes everything the SDKs hold: after that, absence is proof.
    await Promise.all([none.stop(), off.stop(), all.stop()]);
    expect(otlp.spans.filter((s) => unsampled.includes(s.traceId))).toEqual([]);
    expect(otlp.spans.filter((s) => s.traceId === forcedOff.traceId)).toEqual([]);
    expect(otlp.spans.every((s) => sampled.includes(s.traceId))).toBe(true);
  });

  it('starts the SDK in the main thread only, not again in worker threads', async () => {
    const otlp = await receiver();
    const app = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT });
    expect(await getJson(app.url('/worker-telemetry'))).toEqual({ main: true, worker: false });
  });

  it('fails at start-up with a clear error for a bad TRACE_SAMPLE_RATE', async () => {
    await expect(startFixture({ TRACE_SAMPLE_RATE: '2' })).rejects.toThrow(
      /TRACE_SAMPLE_RATE: expected a number from 0 to 1/,
    );
  });
});

describe('register: OTEL_*_EXPORTER=none', () => {
  it('exports nothing over OTLP but still serves /metrics, with the full resource and no diagnostics', async () => {
    const otlp = await receiver();
    const none = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
    const app = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT, ...none });
    await getJson(app.url('/v1/pets/p1/photos'));
    const text = await (await fetch(app.metricsUrl('/metrics'))).text();
    expect(text).toMatch(
      /^http_server_request_duration_seconds_count\{[^}]*http_route="\/v1\/pets\/:petId\/photos"/m,
    );
    // Detected asynchronously (machine id): waited for, not served half-done.
    expect(text).toMatch(/^target_info\{[^}]*host_id="[^"]+"/m);
    await app.stop();
    expect(otlp.calls).toEqual([]);
    expect(app.lines.filter((l) => l.name === 'telemetry')).toEqual([]);
  });
});

describe('register: OTEL_SDK_DISABLED=true', () => {
  it('starts nothing, serves requests and /metrics, and never calls the collector', async () => {
    const otlp = await receiver();
    const app = await fixture({ ...otlp.exporterEnv(), ...FAST_EXPORT, OTEL_SDK_DISABLED: 'true' });

    const body = await getJson(app.url('/v1/pets/p1/photos'));
    expect(body.traceId).toBeNull();
    const line = await app.waitForLine((l) => l.msg === 'listing photos', 'the log line');
    expect(line).not.toHaveProperty('trace_id');

    const metrics = await fetch(app.metricsUrl('/metrics'));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('OpenTelemetry SDK not started');
    expect((await fetch(app.metricsUrl('/ready'))).status).toBe(200);

    const exit = await app.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(app.lines.some((l) => l.event === 'stopped')).toBe(true);
    expect(otlp.calls).toEqual([]);
  });
});

describe('register: a collector that is down or hangs', () => {
  async function progressAfter(app: Fixture, done: number): Promise<number> {
    const line = await app.waitForLine(
      (l) => l.event === 'progress' && Number(l.done) >= done,
      `the request loop to pass ${done} requests`,
    );
    return Number(line.done);
  }

  it('keeps serving with nothing listening on the endpoint, warns once, stops cleanly', async () => {
    const { freePort } = await import('@media-cluster/testkit');
    const app = await fixture({
      ...FAST_EXPORT,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      LOOP: '1',
    });
    const warning = await app.waitForLine((l) => l.name === 'telemetry' && l.level === 'warn', 'the warning');
    expect(warning.msg).toMatch(/telemetry export failing/);
    // Many export cycles (every 100 ms) later, requests still flow and no more warnings came.
    const before = Number(app.lines.filter((l) => l.event === 'progress').at(-1)?.done ?? 0);
    await progressAfter(app, before + 300);

    const exit = await app.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    const telemetryLines = app.lines.filter((l) => l.name === 'telemetry');
    expect(telemetryLines.filter((l) => l.level === 'warn' || l.level === 'error')).toHaveLength(1);
    expect(app.lines.find((l) => l.event === 'stopped')).toBeDefined();
    expect(app.lines.some((l) => l.event === 'loop-error')).toBe(false);
  });

  it('keeps serving while the collector hangs, and shutdownTelemetry() returns within its bound', async () => {
    const otlp = await receiver();
    otlp.setBehaviour('hang');
    const app = await fixture({
      ...otlp.exporterEnv(),
      ...FAST_EXPORT,
      LOOP: '1',
      SHUTDOWN_TIMEOUT_MS: '1500',
    });

    const { waitFor } = await import('@media-cluster/testkit');
    await waitFor(() => otlp.calls.some((c) => c.signal === 'traces' && c.outcome === 'hang'), {
      timeoutMs: 15_000,
      what: 'a trace export to hang',
    });
    const before = Number(app.lines.filter((l) => l.event === 'progress').at(-1)?.done ?? 0);
    await progressAfter(app, before + 300);

    const exit = await app.stop(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const stopped = app.lines.find((l) => l.event === 'stopped');
    expect(stopped, app.spawned.output()).toBeDefined();
    // The bound, not the exporter's timeout, ended the flush (plus the time to close the servers),
    // and the process then exited on its own (no SIGKILL above).
    expect(Number(stopped?.shutdownMs)).toBeLessThan(1_500 + 2_000);
    const warnings = app.lines.filter((l) => l.name === 'telemetry' && l.level !== 'info').map((l) => l.msg);
    expect(warnings).toEqual([
      expect.stringMatching(/telemetry export failing/),
      'telemetry shutdown did not finish within 1500 ms; unsent telemetry is dropped',
    ]);
  });

  it('resumes exporting when a collector comes up on the endpoint, and says so once', async () => {
    const { freePort } = await import('@media-cluster/testkit');
    const port = await freePort();
    const app = await fixture({ ...FAST_EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    await getJson(app.url('/v1/pets/p1/photos'));
    await app.waitForLine((l) => l.name === 'telemetry' && l.level === 'warn', 'the outage warning');

    const otlp = await startOtlpReceiver({ grpcPort: port });
    receivers.push(otlp);
    // gRPC reconnects with a backoff and drops what is exported meanwhile:
    // keep requesting until a request's spans make it through.
    const { waitFor } = await import('@media-cluster/testkit');
    const sent: unknown[] = [];
    await waitFor(
      async () => {
        sent.push((await getJson(app.url('/v1/pets/p2/photos'))).traceId);
        return otlp.spans.some((s) => s.kind === 'SERVER' && sent.includes(s.traceId));
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'spans to reach the collector that came up' },
    );
    const recovered = await app.waitForLine(
      (l) => l.msg === 'telemetry export recovered',
      'the recovery line',
    );
    expect(recovered.level).toBe('info');
    expect(app.lines.filter((l) => l.name === 'telemetry' && l.level === 'warn')).toHaveLength(1);
  });
});
