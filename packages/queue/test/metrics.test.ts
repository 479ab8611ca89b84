import { waitFor } from '@media-cluster/testkit';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deferred,
  deleteQueue,
  keysOf,
  recordingLogger,
  sendAll,
  testNames,
} from './support.js';

/**
 * Metric families as the OTel JS Prometheus exporter serializes them: the
 * names the dashboards and alerts use (docs/metrics.md, rows "queue consumer/producer").
 */
let reader: PrometheusExporter;
let provider: MeterProvider;
const serializer = new PrometheusSerializer();

/** A fresh meter provider per backend, so each run starts from zero. */
function freshMeters(): void {
  beforeAll(() => {
    reader = new PrometheusExporter({ preventServerStart: true });
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
  });
  afterAll(async () => {
    await closeClients();
    await provider.shutdown();
    metrics.disable();
  });
}

/** Scrapes once; returns `value(name, labels)` over the exposition text. */
async function scrape() {
  const { resourceMetrics } = await reader.collect();
  const text = serializer.serialize(resourceMetrics);
  const samples = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
      if (!match) throw new Error(`unparsable line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
  return {
    text,
    value(name: string, labels: Record<string, string> = {}): number | undefined {
      const hit = samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      return hit?.value;
    },
  };
}

describe.each(BACKENDS)('queue metrics (on $name)', (backend) => {
  freshMeters();
  it('every counter family exists at 0 from construction, with the Prometheus names', async () => {
    const redis = backend.client();
    createProducer({ redis, names: testNames() });
    createConsumer({ redis, names: testNames(), handler: async () => {} });
    const m = await scrape();
    for (const status of ['succeeded', 'failed', 'dead_lettered']) {
      expect(m.value('media_cluster_jobs_total', { status }), status).toBe(0);
    }
    expect(m.value('media_cluster_retries_total')).toBe(0);
    expect(m.value('media_cluster_deadletter_total')).toBe(0);
    expect(m.value('media_cluster_messages_published_total')).toBe(0);
    expect(m.value('media_cluster_messages_consumed_total')).toBe(0);
    expect(m.text).toContain('# TYPE media_cluster_jobs_total counter');
    expect(m.text).toContain('otel_scope_name="@media-cluster/queue"');
  });

  it('counts outcomes, records durations and latency, and reports in-flight, pending and lag', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const release = deferred();
    const started: string[] = [];
    const before = await scrape();
    const base = (name: string, labels?: Record<string, string>) => before.value(name, labels) ?? 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 2,
      maxAttempts: 2,
      backoff: { baseMs: 10, maxMs: 10 },
      logger: recordingLogger(),
      handler: async (job) => {
        started.push(`${job.jobId}#${job.attempt}`);
        if (job.jobId.startsWith('block')) await release.promise;
        if (job.jobId === 'fails') throw new Error('nope');
      },
    });
    await consumer.start();
    await producer.send({ jobId: 'ok' });
    await producer.send({ jobId: 'fails' });
    await waitFor(async () => (await redis.xlen(keysOf(names).dlq)) === 1, { what: 'dead letter' });

    // Two blocked handlers hold both slots; three more wait undelivered.
    await sendAll(
      producer,
      Array.from({ length: 5 }, (_, i) => ({ jobId: `block-${i}` })),
    );
    await waitFor(() => started.filter((s) => s.startsWith('block')).length === 2, { what: '2 blocked' });
    const busy = await scrape();
    expect(busy.value('media_cluster_worker_inflight')).toBe(2);
    expect(busy.value('media_cluster_pending_jobs')).toBe(5);
    expect(busy.value('media_cluster_consumer_lag')).toBe(3);
    release.resolve();
    await waitFor(() => started.length === 8, { what: 'all handled' });
    await waitFor(async () => (await consumer.stats()).pending === 0, { what: 'all acked' });

    const m = await scrape();
    const delta = (name: string, labels?: Record<string, string>) =>
      (m.value(name, labels) ?? 0) - base(name, labels);
    expect(delta('media_cluster_jobs_total', { status: 'succeeded' })).toBe(6);
    expect(delta('media_cluster_jobs_total', { status: 'failed' })).toBe(1);
    expect(delta('media_cluster_jobs_total', { status: 'dead_lettered' })).toBe(1);
    expect(delta('media_cluster_retries_total')).toBe(1);
    expect(delta('media_cluster_deadletter_total')).toBe(1);
    expect(delta('media_cluster_messages_published_total')).toBe(7);
    expect(delta('media_cluster_messages_consumed_total')).toBe(8);
    expect(delta('media_cluster_processing_duration_seconds_count', { status: 'succeeded' })).toBe(6);
    expect(delta('media_cluster_processing_duration_seconds_count', { status: 'failed' })).toBe(1);
    expect(delta('media_cluster_processing_duration_seconds_count', { status: 'dead_lettered' })).toBe(1);
    expect(delta('media_cluster_queue_latency_seconds_count')).toBe(8);
    // Second-scale buckets, up to the alert thresholds (60 s latency, 300 s processing).
    expect(m.value('media_cluster_queue_latency_seconds_bucket', { le: '60' })).toBeGreaterThanOrEqual(8);
    expect(
      m.value('media_cluster_processing_duration_seconds_bucket', { le: '300', status: 'succeeded' }),
    ).toBe(6);
    expect(m.text).toContain('# TYPE media_cluster_processing_duration_seconds histogram');
    await consumer.close();
    // A closed consumer no longer contributes to the gauges.
    expect((await scrape()).value('media_cluster_worker_inflight')).toBe(0);
    await deleteQueue(redis, names);
  });
});
