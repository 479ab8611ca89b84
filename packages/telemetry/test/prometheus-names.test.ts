import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { type PrometheusKind, prometheusName } from '../src/index.js';
import { withPrometheusNames } from '../src/prometheus-names.js';
import { createViews } from '../src/views.js';

describe('prometheusName (the collector rule, add_metric_suffixes)', () => {
  it.each<[string, string, PrometheusKind, string]>([
    // Our convention: the final name, minus _total for counters, unit in the name.
    ['media_cluster_queue_latency_seconds', 's', 'histogram', 'media_cluster_queue_latency_seconds'],
    ['media_cluster_jobs', '{job}', 'counter', 'media_cluster_jobs_total'],
    ['media_cluster_jobs_total', '{job}', 'counter', 'media_cluster_jobs_total'],
    ['media_cluster_jobs', '', 'counter', 'media_cluster_jobs_total'],
    ['media_cluster_pending_jobs', '{job}', 'gauge', 'media_cluster_pending_jobs'],
    ['media_cluster_worker_inflight', '{job}', 'updowncounter', 'media_cluster_worker_inflight'],
    ['process_resident_memory_bytes', 'By', 'gauge', 'process_resident_memory_bytes'],
    ['process_cpu_seconds', 's', 'counter', 'process_cpu_seconds_total'],
    // OTel semantic-convention names get their unit appended.
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['db.client.operation.duration', 's', 'histogram', 'db_client_operation_duration_seconds'],
    [
      'media_cluster.processing.duration',
      'ms',
      'histogram',
      'media_cluster_processing_duration_milliseconds',
    ],
    ['process.memory.usage', 'By', 'updowncounter', 'process_memory_usage_bytes'],
    // Pitfalls the rule has, pinned so nobody is surprised.
    ['media_cluster_queue_latency', 's', 'histogram', 'media_cluster_queue_latency_seconds'],
    ['media_cluster_hit_ratio', '1', 'gauge', 'media_cluster_hit_ratio'],
    ['media_cluster_hits', '1', 'gauge', 'media_cluster_hits_ratio'],
    ['media_cluster_hits', '1', 'counter', 'media_cluster_hits_total'],
    ['network.io', 'By/s', 'gauge', 'network_io_bytes_per_second'],
    ['a.total.thing', '', 'counter', 'a_thing_total'],
    ['2xx.count', '', 'gauge', '_2xx_count'],
  ])('%s [%s, %s] -> %s', (name, unit, kind, expected) => {
    expect(prometheusName(name, unit, kind)).toBe(expected);
  });
});

describe('withPrometheusNames + views on a real MeterProvider', () => {
  it('serializes our instruments under their Prometheus names with second buckets', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader], views: createViews() });
    try {
      const meter = provider.getMeter('test');
      meter.createHistogram('media_cluster_processing_duration_seconds', { unit: 's' }).record(42, {
        status: 'succeeded',
      });
      meter.createCounter('media_cluster_retries', { unit: '{retry}' }).add(2);
      meter.createHistogram('http.server.request.duration', { unit: 's' }).record(0.003, {
        'http.route': '/v1/jobs/:jobId',
        'http.request.method': 'GET',
        'url.scheme': 'http',
      });
      meter.createHistogram('media_cluster_clusters_per_job', { unit: '{cluster}' }).record(3);

      const { resourceMetrics } = await reader.collect();
      const text = new PrometheusSerializer().serialize(withPrometheusNames(resourceMetrics));
      expect(text).toMatch(/^# TYPE media_cluster_processing_duration_seconds histogram$/m);
      expect(text).toMatch(
        /^media_cluster_processing_duration_seconds_bucket\{status="succeeded",[^}]*le="60"\} 1$/m,
      );
      expect(text).toMatch(
        /^media_cluster_processing_duration_seconds_bucket\{status="succeeded",[^}]*le="30"\} 0$/m,
      );
      expect(text).toMatch(/^media_cluster_retries_total\{[^}]*\} 2$/m);
      expect(text).toMatch(/^http_server_request_duration_seconds_bucket\{http_route="\/v1\/jobs\/:jobId"/m);
      expect(text).not.toContain('url_scheme');
      // Not a *_seconds histogram: keeps the SDK's default buckets.
      expect(text).toMatch(/^media_cluster_clusters_per_job_bucket\{[^}]*le="5"\} 1$/m);
      // The input is not modified: OTLP keeps the instrument names.
      expect(resourceMetrics.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name)).toContain(
        'http.server.request.duration',
      );
    } finally {
      await provider.shutdown();
    }
  });
});
