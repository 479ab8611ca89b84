import { describe, expect, it } from 'vitest';
import { collectorEnvRefs, expandCollectorEnv } from '../src/collector-env.js';
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
const jaegerText = readRepoFile('observability/jaeger/config.yaml');
/** The config as a runner with no variables set sees it: every default. */
const collector = parseYaml<CollectorConfig>(expandCollectorEnv(collectorText, {}));
const jaegerDefaults = () => parseYaml<JaegerConfig>(expandCollectorEnv(jaegerText, {}));
const composeEnv = (service: string) =>
  Object.fromEntries(
    Object.entries(resolvedCompose().services[service]?.environment ?? {}).map(([k, v]) => [k, String(v)]),
  );
const pipelines = Object.entries(collector.service.pipelines);
interface JaegerConfig {
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  extensions: {
    jaeger_query: {
      http: { endpoint: string };
      grpc: { endpoint: string };
      storage: { traces: string; metrics: string };
    };
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
}

/** `otlp_grpc/jaeger` is an instance of the `otlp_grpc` component type. */
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
    expect(traces.exporters).toContain('span_metrics');
    const jaeger = traces.exporters.find((e) => typeOf(e) === 'otlp_grpc' && e.includes('jaeger'));
    expect(jaeger, 'an otlp_grpc/jaeger exporter in the traces pipeline').toBeTruthy();
    expect((collector.exporters[jaeger!]?.tls as { insecure?: boolean })?.insecure).toBe(true);
  });

  it('spanmetrics: exemplars on, RED per queue and per route, names Jaeger SPM expects', () => {
    const spanmetrics = collector.connectors?.span_metrics as {
      namespace: string;
      histogram: { unit: string };
      exemplars: { enabled: boolean };
      dimensions: { name: string }[];
      exclude_dimensions?: string[];
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
    // A collector restart must not start a new set of series.
    expect(spanmetrics.exclude_dimensions).toContain('collector.instance.id');
    // Jaeger v2's Monitor tab: metric_namespace + latency_unit + normalize_* must describe
    // what the prometheus exporter makes of this connector's output.
    const jaeger = jaegerDefaults();
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
    const spanmetrics = collector.connectors?.span_metrics as {
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

  it('exports metrics (OTLP + spanmetrics) with OpenMetrics, and no per-process resource attribute as a label', () => {
    const metrics = collector.service.pipelines.metrics!;
    expect(metrics.receivers.sort()).toEqual(['otlp', 'span_metrics']);
    expect(metrics.exporters).toEqual(['prometheus']);
    const prom = collector.exporters.prometheus as {
      enable_open_metrics: boolean;
      resource_to_telemetry_conversion?: unknown;
      resource_constant_labels: { included: string[] };
    };
    expect(prom.enable_open_metrics).toBe(true);
    // service.name -> job, service.instance.id -> instance; pid, command line, runtime
    // version stay in target_info (the live check is in stack-e2e.test.ts).
    expect(prom.resource_to_telemetry_conversion).toBeUndefined();
    expect(prom.resource_constant_labels.included).toEqual(['deployment.environment.name']);
  });

  it('keeps logs (debug exporter at least) and has a health_check extension', () => {
    expect(collector.service.pipelines.logs?.exporters).toContain('debug');
    expect(collector.service.extensions).toContain('health_check');
  });

  it.each([
    ['otel-collector-config.yaml', collectorText, 'otel-collector'],
    ['observability/jaeger/config.yaml', jaegerText, 'jaeger'],
  ])(
    '%s: every env:VAR reference has a default, and the defaults are what compose runs',
    (_file, text, service) => {
      const refs = collectorEnvRefs(text);
      expect(refs.length).toBeGreaterThan(3);
      for (const ref of refs) expect(ref.fallback, `\${env:${ref.name}} has no :-default`).toBeDefined();
      // One config, two runners: compose's environment changes nothing the defaults say.
      expect(expandCollectorEnv(text, composeEnv(service))).toBe(expandCollectorEnv(text, {}));
      // No bare ${VAR}: the collector only expands ${env:VAR}.
      expect(text.replace(/\$\{env:[^}]+\}/g, '')).not.toMatch(/\$\{/);
    },
  );

  it('the addresses tests and `pnpm stack` change are all variables (listeners bind where they are told)', () => {
    const moved = expandCollectorEnv(collectorText, {
      OTEL_COLLECTOR_BIND_HOST: '127.0.0.1',
      OTEL_COLLECTOR_OTLP_GRPC_PORT: '1',
      OTEL_COLLECTOR_OTLP_HTTP_PORT: '2',
      OTEL_COLLECTOR_PROMETHEUS_PORT: '3',
      OTEL_COLLECTOR_TELEMETRY_PORT: '4',
      OTEL_COLLECTOR_HEALTH_PORT: '5',
    });
    expect(moved).not.toMatch(/0\.0\.0\.0/);
    const jaeger = expandCollectorEnv(jaegerText, {
      JAEGER_BIND_HOST: '127.0.0.1',
      JAEGER_PROMETHEUS_URL: 'http://127.0.0.1:9',
    });
    expect(jaeger).not.toMatch(/0\.0\.0\.0|prometheus:9090/);
  });

  it('is wired to the rest of the stack: ports and hosts agree across compose, collector, Prometheus', () => {
    const compose = resolvedCompose();
    const env = compose.services['otel-collector']!.environment!;
    // Collector -> Jaeger on Jaeger's OTLP gRPC receiver.
    expect(env.JAEGER_OTLP_ENDPOINT).toBe('jaeger:4317');
    expect(jaegerDefaults().receivers.otlp.protocols.grpc.endpoint).toMatch(/:4317$/);
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
    const limiter = collector.processors.memory_limiter as { limit_mib: number };
    expect(limiter.limit_mib).toBe(Number(env.OTEL_COLLECTOR_MEMORY_LIMIT_MIB));
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
