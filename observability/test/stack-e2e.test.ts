// The path users take with `docker compose up`, run for real without Docker: the
// api and a worker export over OTLP to the real OpenTelemetry Collector running
// otel-collector-config.yaml, which sends traces to Jaeger v2 (its repo config)
// and serves metrics and spanmetrics to Prometheus (the repo's prometheus.yml,
// only the scrape addresses changed, and its rules). Every check reads what a
// person would read: Jaeger's query API (Search and the Monitor tab), Prometheus'
// query API (Grafana's panels, the rules, exemplars). Programs: testkit startStack().
import { hostname } from 'node:os';
import {
  type JaegerSpan,
  type PromSample,
  type StackHandle,
  startStack,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { buildDashboards } from '../src/dashboards/build.js';
import { expandGrafanaVariables, panelQueries } from '../src/dashboards/panel-queries.js';
import { auth, type Services, startServices, uploadPet, waitForJob, workload } from './services.js';
import { readRepoFile } from './support.js';

/** What Grafana's $__rate_interval becomes here: the workload stays inside the window. */
const RATE_WINDOW = '5m';
const STANDARD_LABELS = new Set([
  '__name__',
  'job',
  'instance',
  'le',
  'otel_scope_name',
  'otel_scope_version',
  'deployment_environment_name',
]);
/** Resource attributes that differ per process: never a label on app series. */
const PER_PROCESS = /^(process_|host_|service_instance_id|telemetry_sdk_|collector_instance_id|os_)/;

let stack: StackHandle;
let services: Services;
const jobs: { jobId: string; traceId: string; petId: string }[] = [];

/**
 * Long-window rule groups (the 30-day budget group runs every 5 min) evaluate at
 * the test's pace; expressions and thresholds are untouched.
 */
const fastRuleGroups = (text: string) => text.replace(/^(\s+)interval: \S+$/gm, '$1interval: 5s');

beforeAll(async () => {
  stack = await startStack({ ruleTransform: fastRuleGroups });
  services = await startServices({ otlpEnv: stack.exporterEnv(), databaseUrl: inject('databaseUrl') });
  await stack.setServiceTargets(services.targets);
  // rate() needs two scrapes that see a series change: scrape the collector once
  // before traffic, run the workload twice with a scrape in between.
  await stack.prometheus.waitForQuery('up == 1', (s) => s.length >= 6, { timeoutMs: 60_000 });
  jobs.push(...(await workload(services, 1)));
  await stack.prometheus.waitForQuery('sum(media_cluster_jobs_total{status="succeeded"}) >= 2', undefined, {
    timeoutMs: 60_000,
  });
  jobs.push(...(await workload(services, 2)));
  await stack.prometheus.waitForQuery('sum(media_cluster_jobs_total{status="succeeded"}) >= 4', undefined, {
    timeoutMs: 60_000,
  });
}, 300_000);

afterAll(async () => {
  await services?.stop();
  await stack?.stop();
}, 60_000);

const hasNumber = (samples: PromSample[]) => samples.some((s) => Number.isFinite(s.value));
const attr = (span: JaegerSpan, key: string) => span.attributes[key];

describe('a job created over HTTP, read back from Jaeger', () => {
  let spans: JaegerSpan[] = [];
  let traceId = '';
  let jobId = '';
  let petId = '';

  beforeAll(async () => {
    petId = await uploadPet(services, 'rocket', 'trace');
    const res = await fetch(`${services.apiUrl}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ callbackUrl: `${services.webhookUrl}?token=callback-secret-q` }),
    });
    expect(res.status).toBe(202);
    // The id a user copies: the server span's, from traceresponse (W3C Trace Context level 2).
    traceId =
      /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(res.headers.get('traceresponse') ?? '')?.[1] ?? '';
    ({ jobId } = (await res.json()) as { jobId: string });
    await waitForJob(services, jobId);
    spans = await stack.jaeger.waitForTrace(
      traceId,
      (s) =>
        s.some((x) => x.name === 'postgres.write') &&
        s.some((x) => x.kind === 'CLIENT' && attr(x, 'http.request.method') === 'POST'),
      { timeoutMs: 45_000 },
    );
  }, 120_000);

  const one = (match: (s: JaegerSpan) => boolean, what: string) => {
    const found = spans.filter(match);
    expect(found, `${what} in ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0]!;
  };

  it('holds every documented span with its parent, kind and service', () => {
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const server = one((s) => s.kind === 'SERVER' && s.service === 'media-cluster-api', 'the server span');
    expect(server.parentSpanId).toBe('');
    expect(server.name).toBe('POST /v1/pets/:petId/clustering-jobs');
    expect(attr(server, 'http.route')).toBe('/v1/pets/:petId/clustering-jobs');

    const send = one((s) => s.name === 'send media-cluster:jobs', 'send');
    expect([send.kind, send.service, send.parentSpanId]).toEqual([
      'PRODUCER',
      'media-cluster-api',
      server.spanId,
    ]);

    const process = one((s) => s.name === 'process media-cluster:jobs', 'process');
    expect([process.kind, process.service, process.parentSpanId]).toEqual([
      'CONSUMER',
      'media-cluster-worker',
      send.spanId,
    ]);
    // The parent is the producer, and there is also a link to it (messaging semconv).
    expect(process.links.map((l) => [l.traceId, l.spanId])).toContainEqual([traceId, send.spanId]);

    for (const stage of ['embed', 'cluster', 'select_heroes', 'postgres.write']) {
      const span = one((s) => s.name === stage, stage);
      expect([span.kind, span.service, span.parentSpanId], stage).toEqual([
        'INTERNAL',
        'media-cluster-worker',
        process.spanId,
      ]);
    }
    const write = one((s) => s.name === 'postgres.write', 'postgres.write');
    const pgUnderWrite = spans.filter((s) => s.parentSpanId === write.spanId && s.kind === 'CLIENT');
    expect(pgUnderWrite.length).toBeGreaterThan(0);
    for (const pg of pgUnderWrite)
      expect(attr(pg, 'db.system.name') ?? attr(pg, 'db.system')).toBe('postgresql');

    const webhook = one(
      (s) => s.kind === 'CLIENT' && attr(s, 'http.request.method') === 'POST',
      'the webhook client span',
    );
    expect(webhook.service).toBe('media-cluster-worker');
    // Under process, directly or through a delivery span of ours.
    const ancestors = (s: JaegerSpan): string[] => {
      const parent = spans.find((p) => p.spanId === s.parentSpanId);
      return parent ? [parent.spanId, ...ancestors(parent)] : [];
    };
    expect(ancestors(webhook)).toContain(process.spanId);
    const call = services.webhookCalls.find((c) => c.body.includes(jobId));
    expect(call?.headers.traceparent).toBe(`00-${traceId}-${webhook.spanId}-01`);
  });

  it('carries the documented attributes', () => {
    const send = spans.find((s) => s.name === 'send media-cluster:jobs')!;
    const process = spans.find((s) => s.name === 'process media-cluster:jobs')!;
    for (const span of [send, process]) {
      expect(attr(span, 'messaging.system')).toBe('redis');
      expect(attr(span, 'messaging.destination.name')).toBe('media-cluster:jobs');
      expect(attr(span, 'messaging.message.id')).toMatch(/^\d+-\d+$/);
    }
    expect(attr(send, 'messaging.operation.type')).toBe('send');
    expect(attr(process, 'messaging.operation.type')).toBe('process');
    expect(attr(process, 'messaging.consumer.group.name')).toBe('media-cluster-workers');
    expect(attr(process, 'media_cluster.job_id')).toBe(jobId);
    expect(attr(process, 'media_cluster.attempt')).toBe(1);
    const embed = spans.find((s) => s.name === 'embed')!;
    expect(attr(embed, 'media_cluster.photo_count')).toBe(4);
    expect(embed.events.filter((e) => e.name === 'photo.embedded')).toHaveLength(4);
    const cluster = spans.find((s) => s.name === 'cluster')!;
    expect(Number(attr(cluster, 'media_cluster.cluster_count'))).toBeGreaterThan(0);
  });

  it('no raw pet id, API key or callback query anywhere in the trace', () => {
    const text = JSON.stringify(spans);
    for (const secret of [petId, 'stack-test-key-1', 'callback-secret-q']) {
      expect(text.includes(secret), `the trace contains ${secret}`).toBe(false);
    }
    // The request path is kept as a template (or a keyed hash), never the raw id.
    const server = spans.find((s) => s.kind === 'SERVER')!;
    expect(String(attr(server, 'url.path'))).not.toContain(petId);
  });
});

describe('Jaeger Monitor tab (spanmetrics read from Prometheus)', () => {
  it.each([
    ['media-cluster-api', 'server', 'POST /v1/pets/:petId/clustering-jobs'],
    ['media-cluster-worker', 'consumer', 'process media-cluster:jobs'],
  ] as const)('%s %s spans: calls, latencies and error rate', async (service, spanKind, operation) => {
    const query = { service, spanKind, lookbackMs: 15 * 60_000, stepMs: 15_000 };
    const latest = (series: { labels: Record<string, string>; points: { value: number }[] }[]) =>
      series
        .find((s) => s.labels.operation === operation)
        ?.points.map((p) => p.value)
        .filter(Number.isFinite);
    const calls = await waitFor(
      async () => {
        const values = latest(await stack.jaeger.spm('calls', query));
        return values?.some((v) => v > 0) ? values : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2_000, what: `Jaeger SPM calls for ${service} ${operation}` },
    );
    expect(Math.max(...calls)).toBeGreaterThan(0);
    const latencies = latest(await stack.jaeger.spm('latencies', query)) ?? [];
    expect(
      latencies.some((v) => v > 0),
      `latencies ${JSON.stringify(latencies)}`,
    ).toBe(true);
    const errors = latest(await stack.jaeger.spm('errors', query)) ?? [];
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((v) => v === 0)).toBe(true);
  });
});

interface Family {
  names: string[];
  type: 'counter' | 'histogram' | 'gauge';
  labels: string[];
}

/** The catalogue table of docs/metrics.md. */
function documentedFamilies(): Family[] {
  const text = readRepoFile('docs/metrics.md');
  const table = text.slice(0, text.indexOf('## From instrument'));
  return table
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((line) => {
      const [names = '', type = '', labels = ''] = line.split('|').slice(1, 4);
      const ticks = (s: string) => [...s.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
      return { names: ticks(names), type: type.trim() as Family['type'], labels: ticks(labels) };
    });
}

/** The bucket bounds docs/metrics.md gives every *_seconds, HTTP and pg histogram. */
function documentedBuckets(): number[] {
  const text = readRepoFile('docs/metrics.md');
  const para = /Histogram buckets:[\s\S]*?use `([^`]+)` s/.exec(text)?.[1] ?? '';
  return para.split(/,\s*/).map(Number);
}

describe('metrics reach Prometheus through the collector only', () => {
  const families = documentedFamilies();
  const seconds = documentedBuckets();

  it('the catalogue parses (the checks below are not vacuous)', () => {
    expect(families.length).toBeGreaterThan(20);
    expect(seconds).toContain(60);
    expect(seconds).toContain(300);
  });

  it.each(families.flatMap((f) => f.names.map((name) => [name, f] as const)))(
    '%s: present, from the collector, with its documented labels (and buckets)',
    async (name, family) => {
      const series = `${family.type === 'histogram' ? `${name}_bucket` : name}{job=~"media-cluster-api|media-cluster-worker"}`;
      const samples = await stack.prometheus.waitForQuery(series, undefined, { timeoutMs: 30_000 });
      for (const s of samples) {
        // The services' own /metrics are scraped for `up` only (their instance would be
        // 127.0.0.1:<port>): instance = service.instance.id = the host name says OTLP.
        expect(s.metric.instance, `${name} instance`).toBe(hostname());
        const extra = Object.keys(s.metric).filter(
          (k) => !STANDARD_LABELS.has(k) && !family.labels.includes(k),
        );
        expect(extra, `${name}: labels not in docs/metrics.md`).toEqual([]);
      }
      const seen = new Set(samples.flatMap((s) => Object.keys(s.metric)));
      const optional = new Set(['error_type']); // only on failed operations
      for (const label of family.labels.filter((l) => !optional.has(l))) {
        expect(seen.has(label), `${name}: no series has ${label}`).toBe(true);
      }
      if (family.type === 'histogram' && (name.endsWith('_seconds') || name.startsWith('db_client'))) {
        const bounds = [...new Set(samples.map((s) => Number(s.metric.le)))].sort((a, b) => a - b);
        expect(JSON.stringify(bounds), name).toBe(JSON.stringify([...seconds, Number.POSITIVE_INFINITY]));
      }
    },
  );

  it('no resource attribute that changes per process is a label on any app or span series', async () => {
    const samples = await stack.prometheus.query(
      '{job=~"media-cluster-api|media-cluster-worker", __name__!="target_info"}',
    );
    expect(samples.length).toBeGreaterThan(100);
    const labels = new Set(samples.flatMap((s) => Object.keys(s.metric)));
    expect([...labels].filter((l) => PER_PROCESS.test(l))).toEqual([]);
    // They are still there, in target_info, for whoever wants to join on instance.
    const info = await stack.prometheus.query('target_info{job="media-cluster-worker"}');
    expect(info[0]?.metric.process_pid).toBe(String(services.worker.child.pid));
  });

  it('spanmetrics: RED per service, span name and kind, with the queue and route dimensions', async () => {
    const calls = await stack.prometheus.waitForQuery(
      'traces_span_metrics_calls_total{messaging_destination_name="media-cluster:jobs"}',
      (s) => s.length >= 2,
      { timeoutMs: 30_000 },
    );
    expect(
      calls.map((s) => `${s.metric.service_name} ${s.metric.span_kind} ${s.metric.span_name}`).sort(),
    ).toEqual([
      'media-cluster-api SPAN_KIND_PRODUCER send media-cluster:jobs',
      'media-cluster-worker SPAN_KIND_CONSUMER process media-cluster:jobs',
    ]);
    const routes = await stack.prometheus.query(
      'traces_span_metrics_duration_milliseconds_count{service_name="media-cluster-api", span_kind="SPAN_KIND_SERVER"}',
    );
    expect(routes.map((s) => s.metric.http_route)).toContain('/v1/pets/:petId/clustering-jobs');
  });
});

const queries = panelQueries(buildDashboards().map((d) => d.json));

describe('exemplars: every panel that shows them has trace ids Jaeger knows', () => {
  const exemplarPanels = buildDashboards().flatMap((d) =>
    (d.json.panels as { title: string; targets?: { expr?: string; exemplar?: boolean }[] }[]).flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => t.exemplar && t.expr)
        .map((t) => [`${d.json.title} / ${p.title}`, t.expr!] as const),
    ),
  );

  it('some panels show exemplars', () => {
    expect(exemplarPanels.length).toBeGreaterThanOrEqual(3);
  });

  it.each(exemplarPanels)('%s', async (_panel, expr) => {
    const query = expandGrafanaVariables(expr, RATE_WINDOW);
    const series = await waitFor(
      async () => {
        const found = await stack.prometheus.exemplars(query, {
          startMs: Date.now() - 30 * 60_000,
          endMs: Date.now(),
        });
        return found.some((s) => s.exemplars.length > 0) ? found : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 1_000, what: `exemplars for ${query}` },
    );
    const traceIds = [...new Set(series.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? '')))];
    expect(
      traceIds.every((id) => /^[0-9a-f]{32}$/.test(id)),
      JSON.stringify(traceIds),
    ).toBe(true);
    // Grafana's "Open trace in Jaeger" on the newest dot: Jaeger has that trace.
    const spans = await stack.jaeger.waitForTrace(traceIds.at(-1)!, undefined, { timeoutMs: 20_000 });
    expect(spans.length).toBeGreaterThan(0);
  });
});

describe('dashboards and rules on the real stack', () => {
  it.each(queries.map((q) => [`${q.dashboard} / ${q.panel} / ${q.refId}`, q] as const))(
    '%s returns data',
    async (_name, q) => {
      const expr = expandGrafanaVariables(q.expr, RATE_WINDOW);
      const samples = await stack.prometheus.waitForQuery(expr, hasNumber, { timeoutMs: 30_000 });
      expect(samples.length).toBeGreaterThan(0);
    },
  );

  const ruleFiles = ['alerts.yml', 'recording.yml', 'telemetry.yml'].map(
    (f) =>
      parse(readRepoFile('observability/prometheus/rules', f)) as {
        groups: { rules: { record?: string; alert?: string }[] }[];
      },
  );
  const recordNames = ruleFiles.flatMap((f) =>
    f.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
  );
  const alertCount = ruleFiles.flatMap((f) => f.groups.flatMap((g) => g.rules.filter((r) => r.alert))).length;

  it.each(recordNames)('recording rule %s evaluates to data', async (name) => {
    const samples = await stack.prometheus.waitForQuery(name, hasNumber, { timeoutMs: 30_000 });
    expect(samples.length).toBeGreaterThan(0);
  });

  it('every rule (alerts included) evaluates without error on real series', async () => {
    await waitFor(
      async () => {
        const all = (await stack.prometheus.rules()).flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health !== 'unknown');
      },
      { timeoutMs: 30_000, what: 'every rule to be evaluated once' },
    );
    const rules = (await stack.prometheus.rules()).flatMap((g) => g.rules);
    const bad = rules
      .filter((r) => r.health !== 'ok')
      .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    expect(bad).toEqual([]);
    expect(rules.length).toBe(recordNames.length + alertCount);
  });

  it('a healthy run fires no page (critical alert), and the telemetry guards are quiet', async () => {
    const alerts = await stack.prometheus.alerts();
    const critical = alerts.filter((a) => a.labels.severity === 'critical');
    expect(critical.map((a) => a.labels.alertname)).toEqual([]);
    const guards = alerts.filter((a) => /Absent$|^OtelCollector/.test(a.labels.alertname ?? ''));
    expect(guards.map((a) => a.labels.alertname)).toEqual([]);
  });

  it('Prometheus scrapes what compose scrapes, and every target is up', async () => {
    const targets = await stack.prometheus.targets();
    expect(targets.map((t) => t.job).sort()).toEqual(
      [
        'jaeger',
        'media-cluster-api',
        'media-cluster-worker',
        'otel-collector',
        'otel-collector-internal',
        'prometheus',
      ].sort(),
    );
    expect(targets.filter((t) => t.health !== 'up').map((t) => `${t.job}: ${t.lastError}`)).toEqual([]);
  });
});
