import { totalmem } from 'node:os';
import { SECONDS_BUCKETS } from '@media-cluster/semconv';
import {
  type OtlpReceiver,
  type PrometheusHandle,
  startOtlpReceiver,
  startPrometheus,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt, type Fixture, startFixture } from './helpers/fixture.js';

// One instrumented child for the whole file: /metrics over HTTP, the same
// metrics over OTLP, and a real Prometheus scraping it with the bearer token.
const TOKEN = 'metrics-token-for-tests';
let otlp: OtlpReceiver;
let app: Fixture;
let prometheus: PrometheusHandle;

/** `# TYPE name kind` lines of a Prometheus text exposition, as a map. */
function families(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    found.set(match[1] as string, match[2] as string);
  return found;
}

/** Label names of every sample line of `name` (histograms: its _bucket/_sum/_count lines). */
function labelNames(text: string, name: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(new RegExp(`^${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm'))) {
    for (const pair of (match[1] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g))
      names.add(pair[1] as string);
  }
  return names;
}

async function scrape(headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  return fetch(app.metricsUrl('/metrics'), { headers });
}

beforeAll(async () => {
  assertBuilt();
  otlp = await startOtlpReceiver();
  app = await startFixture({
    ...otlp.exporterEnv(),
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_SERVICE_NAME: 'fixture-metrics',
    METRICS_TOKEN: TOKEN,
    // A pg pool (max 2) that queries once at start-up, for the pool gauges.
    DATABASE_URL: inject('databaseUrl'),
  });
  // One request so the http server histogram has a series for the route.
  const response = await fetch(app.url('/v1/pets/rex-42/photos?secret=1'));
  expect(response.status).toBe(200);
  prometheus = await startPrometheus({
    scrapeTargets: [{ job: 'fixture', targets: [`127.0.0.1:${app.metricsPort}`], bearerToken: TOKEN }],
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await app?.stop();
  await otlp?.stop();
});

describe('/metrics of a process started with the register entry point', () => {
  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const missing = await scrape({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await scrape({ authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await scrape({ authorization: TOKEN })).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Probes stay open: orchestrators do not send tokens.
    expect((await fetch(app.metricsUrl('/health'))).status).toBe(200);
    // Scrapes and probes are not traced: only the fixture's API request is.
    await otlp.waitForSpans({ where: (s) => s.kind === 'SERVER' });
    expect(otlp.spans.filter((s) => s.kind === 'SERVER').map((s) => s.attributes['url.path'])).toEqual([
      '/v1/pets/{petId}/photos',
    ]);
    expect(await (await fetch(app.metricsUrl('/ready'))).json()).toEqual({
      ok: true,
      checks: { redis: 'ok', postgres: 'ok' },
    });
  });

  it('serves the names of docs/metrics.md, with counters at 0 from start-up', async () => {
    const text = await (await scrape()).text();
    const types = families(text);
    expect(Object.fromEntries(types)).toMatchObject({
      http_server_request_duration_seconds: 'histogram',
      media_cluster_queue_latency_seconds: 'histogram',
      media_cluster_jobs_total: 'counter',
      media_cluster_worker_inflight: 'gauge',
      media_cluster_pending_jobs: 'gauge',
      process_resident_memory_bytes: 'gauge',
      process_memory_limit_bytes: 'gauge',
      process_cpu_seconds_total: 'counter',
      nodejs_heap_size_used_bytes: 'gauge',
      target_info: 'gauge',
    });
    expect(text).toMatch(/^media_cluster_jobs_total\{status="dead_lettered",[^}]*\} 0$/m);
    expect(text).toMatch(/^media_cluster_jobs_total\{status="queued",[^}]*\} 1$/m);
    // The unit is part of the name: no OpenMetrics-only `# UNIT` comments.
    expect(text).not.toMatch(/^# UNIT/m);
    const bounds = [...text.matchAll(/^media_cluster_queue_latency_seconds_bucket\{[^}]*le="([^"]+)"/gm)].map(
      (m) => m[1],
    );
    expect(bounds).toEqual([...SECONDS_BUCKETS.map(String), '+Inf']);
  });

  it('keeps only http_route, method and status code on the HTTP server histogram, and no raw path', async () => {
    const text = await (await scrape()).text();
    expect([...labelNames(text, 'http_server_request_duration_seconds')].sort()).toEqual([
      'http_request_method',
      'http_response_status_code',
      'http_route',
      'le',
      'otel_scope_name',
      'otel_scope_version',
    ]);
    expect(text).toContain('http_route="/v1/pets/:petId/photos"');
    expect(text).not.toContain('rex-42');
  });

  it('sends the same instruments over OTLP, with the same buckets and attributes', async () => {
    const http = await otlp.waitForMetric('http.server.request.duration', {
      where: (m) => m.dataPoints.some((p) => p.attributes['http.route'] === '/v1/pets/:petId/photos'),
    });
    expect(http.unit).toBe('s');
    const point = http.dataPoints.find((p) => p.attributes['http.route'] === '/v1/pets/:petId/photos');
    expect(Object.keys(point?.attributes ?? {}).sort()).toEqual([
      'http.request.method',
      'http.response.status_code',
      'http.route',
    ]);
    expect(point?.explicitBounds).toEqual([...SECONDS_BUCKETS]);
    const latency = await otlp.waitForMetric('media_cluster_queue_latency_seconds');
    expect(latency.resource['service.name']).toBe('fixture-metrics');
    expect(latency.dataPoints[0]?.explicitBounds).toEqual([...SECONDS_BUCKETS]);
  });

  it('observes the pg pool gauges at collection time, with the upstream names and labels', async () => {
    // The pool is known from its first checkout inside a span (the start-up query has none).
    expect((await fetch(app.url('/v1/jobs/j1'))).status).toBe(200);
    const text = await (await scrape()).text();
    const series = (name: string, labels: string, value: string) =>
      new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} ${value}$`, 'm');
    const pool = 'db_client_connection_pool_name="[^"]+"';
    expect(text).toMatch(series('db_client_connection_max', pool, '2'));
    // Read when collected: the connection is back in the pool, none in use.
    expect(text).toMatch(series('db_client_connection_count', 'db_client_connection_state="used"', '0'));
    expect(text).toMatch(series('db_client_connection_count', 'db_client_connection_state="idle"', '1'));
    expect(text).toMatch(series('db_client_connection_pending_requests', pool, '0'));
    expect(text).toMatch(
      series('db_client_operation_duration_seconds_count', 'db_operation_name="SELECT"', '1'),
    );
  });

  it('gives Prometheus exactly the documented names once it scrapes the endpoint', async () => {
    const wanted = [
      'http_server_request_duration_seconds_bucket',
      'http_server_request_duration_seconds_count',
      'http_server_request_duration_seconds_sum',
      'media_cluster_jobs_total',
      'media_cluster_pending_jobs',
      'media_cluster_queue_latency_seconds_bucket',
      'media_cluster_queue_latency_seconds_count',
      'media_cluster_queue_latency_seconds_sum',
      'media_cluster_worker_inflight',
      'nodejs_heap_size_used_bytes',
      'process_cpu_seconds_total',
      'process_memory_limit_bytes',
      'process_resident_memory_bytes',
    ];
    const samples = await prometheus.waitForQuery(
      'count by (__name__) ({job="fixture", __name__=~"media_cluster_.+|http_server_.+|process_.+|nodejs_.+"})',
      (s) => s.length >= wanted.length,
      { timeoutMs: 20_000 },
    );
    expect(samples.map((s) => s.metric.__name__).sort()).toEqual(wanted);
    const [deadLettered] = await prometheus.query(
      'media_cluster_jobs_total{job="fixture", status="dead_lettered"}',
    );
    expect(deadLettered?.value).toBe(0);
    const [route] = await prometheus.query(
      'http_server_request_duration_seconds_count{job="fixture", http_route="/v1/pets/:petId/photos"}',
    );
    expect(route?.value).toBe(1);
    const [memory] = await prometheus.query('process_resident_memory_bytes{job="fixture"}');
    expect(memory?.value).toBeGreaterThan(10 * 1024 * 1024);
    // The cgroup limit where there is one, else the machine's memory: always above the RSS.
    const [limit] = await prometheus.query('process_memory_limit_bytes{job="fixture"}');
    expect(limit?.value).toBeGreaterThan(memory!.value);
    expect(limit?.value).toBeLessThanOrEqual(totalmem());
  });

  it('has said nothing about itself all along: a healthy collector and early scrapes raise no diagnostics', () => {
    expect(app.lines.filter((l) => l.name === 'telemetry')).toEqual([]);
    expect(app.otherOutput.join('')).toBe('');
  });
});
