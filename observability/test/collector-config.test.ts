import { describe, expect, it } from 'vitest';
import { buildDashboards } from '../src/dashboards/build.js';
import { panelQueries } from '../src/dashboards/panel-queries.js';
import { parseYaml, readRepoFile, resolvedCompose } from './support.js';

/** The parts of an OpenTelemetry Collector config this test reads. */
interface CollectorConfig {
  receivers: Record<string, unknown>;
  processors: Record<string, unknown>;
  exporters: Record<string, Record<string, unknown>>;
  connectors?: Record<string, Record<string, unknown>>;
  extensions?: Record<string, Record<string, unknown>>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
    telemetry?: unknown;
  };
}

const collectorText = readRepoFile('otel-collector-config.yaml');
const collector = parseYaml<CollectorConfig>(collectorText);
const pipelines = Object.entries(collector.service.pipelines);
/** `otlp/jaeger` is an instance of the `otlp` component type. */
const typeOf = (id: string) => id.split('/')[0];
const signalOf = (pipelineId: string) => pipelineId.split('/')[0];

describe('otel-collector-config.yaml', () => {
  it('defines every component a pipeline names', () => {
    for (const [id, p] of pipelines) {
      for (const r of p.receivers) {
        expect(r in collector.receivers || r in (collector.connectors ?? {}), `${id}: receiver ${r}`).toBe(
          true,
        );
      }
      for (const pr of p.processors ?? [])
        expect(pr in collector.processors, `${id}: processor ${pr}`).toBe(true);
      for (const e of p.exporters) {
        expect(e in collector.exporters || e in (collector.connectors ?? {}), `${id}: exporter ${e}`).toBe(
          true,
        );
      }
    }
    for (const ext of collector.service.extensions ?? []) {
      expect(ext in (collector.extensions ?? {}), `extension ${ext}`).toBe(true);
    }
  });

  it('uses every component it defines (an unused one is a silent misconfiguration)', () => {
    const used = new Set(
      pipelines.flatMap(([, p]) => [...p.receivers, ...(p.processors ?? []), ...p.exporters]),
    );
    for (const id of [
      ...Object.keys(collector.receivers),
      ...Object.keys(collector.processors),
      ...Object.keys(collector.exporters),
    ]) {
      expect(used.has(id), `${id} is defined but in no pipeline`).toBe(true);
    }
    // A connector must be an exporter of one pipeline and a receiver of another.
    for (const id of Object.keys(collector.connectors ?? {})) {
      expect(
        pipelines.some(([, p]) => p.exporters.includes(id)),
        `${id} never fed`,
      ).toBe(true);
      expect(
        pipelines.some(([, p]) => p.receivers.includes(id)),
        `${id} never read`,
      ).toBe(true);
    }
    for (const id of Object.keys(collector.extensions ?? {})) {
      expect(collector.service.extensions ?? [], `extension ${id} not enabled`).toContain(id);
    }
  });

  it('receives OTLP over gRPC and HTTP on the standard ports', () => {
    const otlp = collector.receivers.otlp as { protocols: Record<string, { endpoint: string }> };
    expect(otlp.protocols.grpc?.endpoint).toMatch(/:4317$/);
    expect(otlp.protocols.http?.endpoint).toMatch(/:4318$/);
  });

  it('runs memory_limiter first and batch next in every pipeline', () => {
    expect(pipelines.map(([id]) => signalOf(id)).sort()).toEqual(['logs', 'metrics', 'traces']);
    for (const [id, p] of pipelines) {
      expect(p.processors?.slice(0, 2), id).toEqual(['memory_limiter', 'batch']);
    }
  });

  it('sends traces to Jaeger over OTLP and into the spanmetrics connector', () => {
    const traces = collector.service.pipelines.traces!;
    expect(traces.receivers).toContain('otlp');
    expect(traces.exporters).toContain('spanmetrics');
    const jaeger = traces.exporters.find((e) => typeOf(e) === 'otlp' && e.includes('jaeger'));
    expect(jaeger, 'an otlp/jaeger exporter in the traces pipeline').toBeTruthy();
    expect((collector.exporters[jaeger!]?.tls as { insecure?: boolean })?.insecure).toBe(true);
  });

  it('spanmetrics: exemplars on, RED per queue and per route, names Jaeger SPM expects', () => {
    const spanmetrics = collector.connectors?.spanmetrics as {
      namespace: string;
      histogram: { unit: string };
      exemplars: { enabled: boolean };
      dimensions: { name: string }[];
    };
    expect(spanmetrics.exemplars.enabled).toBe(true);
    expect(spanmetrics.dimensions.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'messaging.destination.name',
        'messaging.operation.type',
        'http.route',
        'http.response.status_code',
      ]),
    );
    // Jaeger v2's Monitor tab: metric_namespace + latency_unit + normalize_* must describe
    // what the prometheus exporter makes of this connector's output.
    const jaeger = parseYaml<{
      extensions: {
        jaeger_query: { storage: { traces: string; metrics: string } };
        jaeger_storage: {
          backends: Record<string, unknown>;
          metric_backends: Record<
            string,
            {
              prometheus: {
                endpoint: string;
                metric_namespace: string;
                latency_unit: string;
                normalize_calls: boolean;
                normalize_duration: boolean;
              };
            }
          >;
        };
      };
    }>(readRepoFile('observability/jaeger/config.yaml'));
    const query = jaeger.extensions.jaeger_query.storage;
    expect(jaeger.extensions.jaeger_storage.backends).toHaveProperty(query.traces);
    const spm = jaeger.extensions.jaeger_storage.metric_backends[query.metrics]?.prometheus;
    expect(spm, 'jaeger_query.storage.metrics names a metric backend').toBeTruthy();
    expect(spm!.metric_namespace).toBe(spanmetrics.namespace.replaceAll('.', '_'));
    expect(spm!.latency_unit).toBe(spanmetrics.histogram.unit);
    expect(spm!.normalize_calls).toBe(true); // counters get _total from the prometheus exporter
    expect(spm!.normalize_duration).toBe(true); // ms histograms get _milliseconds
    expect(spm!.endpoint).toBe('http://prometheus:9090');
  });

  it('the spanmetrics dashboard panels query the names and labels this connector produces', () => {
    // The live test cannot run a collector, so the names are derived here the way the
    // prometheus exporter derives them: namespace dots to underscores, the unit as a
    // suffix on the histogram, _total on the counter, attribute dots to underscores.
    const spanmetrics = collector.connectors?.spanmetrics as {
      namespace: string;
      histogram: { unit: string };
      dimensions: { name: string }[];
    };
    const ns = spanmetrics.namespace.replaceAll('.', '_');
    const unit = { ms: 'milliseconds', s: 'seconds' }[spanmetrics.histogram.unit];
    const produced = new Set([`${ns}_calls_total`, `${ns}_duration_${unit}_bucket`]);
    // Always there: the connector's own labels; plus the configured dimensions.
    const labels = new Set([
      'le',
      'service_name',
      'span_name',
      'span_kind',
      'status_code',
      ...spanmetrics.dimensions.map((d) => d.name.replaceAll('.', '_')),
    ]);
    const queries = panelQueries(buildDashboards().map((d) => d.json)).filter((q) => q.needsCollector);
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) {
      for (const [name] of q.expr.matchAll(/\btraces_span_metrics_\w+/g)) {
        expect(produced, `${q.panel}: ${name}`).toContain(name);
      }
      const used = [
        ...[...q.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())),
        ...[...q.expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
          m[1]!.split(',').map((kv) => kv.split(/[=!~]/)[0]!.trim()),
        ),
      ].filter(Boolean);
      for (const label of used) expect(labels, `${q.panel}: label ${label}`).toContain(label);
    }
  });

  it('exports metrics (OTLP + spanmetrics) to the prometheus exporter with OpenMetrics and resource labels', () => {
    const metrics = collector.service.pipelines.metrics!;
    expect(metrics.receivers.sort()).toEqual(['otlp', 'spanmetrics']);
    expect(metrics.exporters).toEqual(['prometheus']);
    const prom = collector.exporters.prometheus as {
      enable_open_metrics: boolean;
      resource_to_telemetry_conversion: { enabled: boolean };
    };
    expect(prom.enable_open_metrics).toBe(true);
    expect(prom.resource_to_telemetry_conversion.enabled).toBe(true);
  });

  it('keeps logs (debug exporter at least) and has a health_check extension', () => {
    expect(collector.service.pipelines.logs?.exporters).toContain('debug');
    expect(collector.service.extensions).toContain('health_check');
  });

  it('every env:VAR reference is set in the collector service of docker-compose.yml', () => {
    const compose = resolvedCompose();
    const env = compose.services['otel-collector']?.environment ?? {};
    const refs = [...collectorText.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, name, fallback] of refs) {
      if (fallback) continue;
      expect(env[name!], `${name} not set for otel-collector`).toBeDefined();
      expect(String(env[name!])).not.toBe('');
    }
    // No bare ${VAR}: the collector only expands ${env:VAR}.
    expect(collectorText.replace(/\$\{env:[^}]+\}/g, '')).not.toMatch(/\$\{/);
  });

  it('is wired to the rest of the stack: ports and hosts agree across compose, collector, Prometheus', () => {
    const compose = resolvedCompose();
    const env = compose.services['otel-collector']!.environment!;
    // Collector -> Jaeger on Jaeger's OTLP gRPC receiver.
    expect(env.JAEGER_OTLP_ENDPOINT).toBe('jaeger:4317');
    const jaeger = parseYaml<{ receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } }>(
      readRepoFile('observability/jaeger/config.yaml'),
    );
    expect(jaeger.receivers.otlp.protocols.grpc.endpoint).toMatch(/:4317$/);
    // Services -> collector's OTLP gRPC receiver.
    for (const name of ['api', 'worker']) {
      expect(compose.services[name]!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
        'http://otel-collector:4317',
      );
      expect(compose.services[name]!.environment!.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('grpc');
    }
    // Prometheus scrapes the exporter where the collector serves it, keeping its job labels.
    const prom = parseYaml<{
      scrape_configs: {
        job_name: string;
        honor_labels?: boolean;
        static_configs?: { targets: string[] }[];
      }[];
    }>(readRepoFile('observability/prometheus/prometheus.yml'));
    const job = prom.scrape_configs.find((j) => j.job_name === 'otel-collector');
    expect(job?.static_configs?.[0]?.targets).toEqual([
      `otel-collector:${env.OTEL_COLLECTOR_PROMETHEUS_PORT}`,
    ]);
    expect(job?.honor_labels).toBe(true);
    // memory_limiter below the container limit.
    const limiter = collector.processors.memory_limiter as { limit_mib: string };
    expect(limiter.limit_mib).toBe(['$', '{env:OTEL_COLLECTOR_MEMORY_LIMIT_MIB}'].join(''));
    const limitMib = Number.parseInt(
      String(compose.services['otel-collector']!.deploy!.resources!.limits!.memory),
      10,
    );
    expect(Number(env.OTEL_COLLECTOR_MEMORY_LIMIT_MIB)).toBeLessThanOrEqual(limitMib);
  });

  it('says why each piece is there (a comment above every top-level component)', () => {
    const lines = collectorText.split('\n');
    const ids = [
      ...Object.keys(collector.receivers),
      ...Object.keys(collector.processors),
      ...Object.keys(collector.exporters),
      ...Object.keys(collector.connectors ?? {}),
      ...Object.keys(collector.extensions ?? {}),
    ];
    for (const id of ids) {
      const at = lines.indexOf(`  ${id}:`);
      expect(at, id).toBeGreaterThan(0);
      expect(lines[at - 1]?.trim().startsWith('#'), `no comment above ${id}`).toBe(true);
    }
  });
});
