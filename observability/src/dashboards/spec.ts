/**
 * Dashboards as data: what each panel shows and the PromQL behind it. The
 * builder (build.ts) turns this into Grafana JSON with the foundation SDK; the
 * live test runs every query here against a real Prometheus.
 *
 * Queries use metric names only (docs/metrics.md) and the recording rules of
 * observability/prometheus/rules: they read the same whether Prometheus scrapes
 * the services directly (tests, `npm start`) or the collector (docker compose).
 * Ratios whose numerator may have no series yet use `or ... * 0` so they read 0
 * instead of "No data".
 */

export type PanelKind = 'timeseries' | 'stat';

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** Show exemplars (trace ids) on this histogram query: click through to Jaeger. */
  exemplar?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  kind: PanelKind;
  unit: string;
  queries: QuerySpec[];
  /** Threshold steps above the base (green) colour: [value, colour]. */
  thresholds?: [number, 'yellow' | 'orange' | 'red' | 'green'][];
  /** For stats where low is bad: base colour red, thresholds turn it green. */
  baseColor?: 'green' | 'red';
  min?: number;
  max?: number;
  /** Width in grid units (24 = full row). @defaultValue 12 (timeseries), 6 (stat) */
  width?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  /** File name under observability/grafana/dashboards/. */
  file: string;
  title: string;
  description: string;
  tags: string[];
  rows: RowSpec[];
}

/** Grafana picks a rate window of at least 4 scrape intervals. */
export const RATE = '$__rate_interval';

const HTTP = 'http_server_request_duration_seconds';
const NOT_PROBES = 'http_route!~"/health|/ready|/metrics"';
/** The collector's own metrics (service.telemetry in otel-collector-config.yaml). */
const COLLECTOR = 'job="otel-collector-internal"';
/** The worker's stage spans (docs/metrics.md, README "Reading a trace"). */
const STAGE_SPANS = 'embed|cluster|select_heroes|postgres.write';

const p95 = (metric: string, by = '', q = 0.95) =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket[${RATE}])))`;

export const pipeline: DashboardSpec = {
  uid: 'media-cluster-pipeline',
  file: 'pipeline.json',
  title: 'Media cluster / Pipeline',
  description:
    'Jobs through the Redis stream: throughput, queue latency, stage p95s, backlog, retries and DLQ.',
  tags: ['media-cluster', 'pipeline'],
  rows: [
    {
      title: 'Throughput',
      panels: [
        {
          title: 'Job outcomes',
          description: 'Jobs queued by the api and attempts finished by the workers, per second, by status.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum by (status) (rate(media_cluster_jobs_total[${RATE}]))`, legend: '{{status}}' },
          ],
        },
        {
          title: 'Stream messages',
          description: 'Messages XADDed to and processed from media-cluster:jobs, per second.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum(rate(media_cluster_messages_published_total[${RATE}]))`, legend: 'published' },
            { expr: `sum(rate(media_cluster_messages_consumed_total[${RATE}]))`, legend: 'consumed' },
          ],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'Queue latency p50 / p95 (enqueue to start)',
          description:
            'SLO: p95 < 60 s. An SDK histogram: the Node SDK attaches no exemplars, so the trace links are on the span panels.',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[60, 'red']],
          queries: [
            { expr: p95('media_cluster_queue_latency_seconds', '', 0.5), legend: 'p50' },
            { expr: p95('media_cluster_queue_latency_seconds'), legend: 'p95' },
          ],
        },
        {
          title: 'Processing time p95 by outcome',
          description: 'Handler time per attempt. SLO: p95 < 300 s.',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[300, 'red']],
          queries: [
            { expr: p95('media_cluster_processing_duration_seconds', 'status'), legend: '{{status}}' },
          ],
        },
        {
          title: 'Stage p95: embed, cluster, postgres write',
          description:
            'Where the processing time goes, stage by stage (the SDK histograms of docs/metrics.md).',
          kind: 'timeseries',
          unit: 's',
          queries: [
            { expr: p95('media_cluster_embedding_duration_seconds'), legend: 'embed' },
            { expr: p95('media_cluster_clustering_duration_seconds'), legend: 'cluster' },
            { expr: p95('media_cluster_postgres_write_seconds'), legend: 'postgres write' },
          ],
        },
        {
          title: 'Stage span p95 (exemplars open the job trace)',
          description:
            'The same stages measured from their spans by the collector (spanmetrics), whose buckets carry trace ids: a dot opens that job in Jaeger.',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: `histogram_quantile(0.95, sum by (le, span_name) (rate(traces_span_metrics_duration_milliseconds_bucket{service_name="media-cluster-worker", span_name=~"${STAGE_SPANS}"}[${RATE}])))`,
              legend: '{{span_name}}',
              exemplar: true,
            },
          ],
        },
      ],
    },
    {
      title: 'Backlog',
      panels: [
        {
          title: 'Pending jobs and consumer lag',
          description:
            'Group-wide (every worker reports the same value, so max): delivered-but-unacked plus not yet delivered, and XINFO GROUPS lag.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            { expr: 'max(media_cluster_pending_jobs)', legend: 'pending' },
            { expr: 'max(media_cluster_consumer_lag)', legend: 'lag' },
          ],
        },
        {
          title: 'In-flight jobs per worker',
          description: 'Bounded by WORKER_CONCURRENCY per process.',
          kind: 'timeseries',
          unit: 'short',
          queries: [{ expr: 'sum by (instance) (media_cluster_worker_inflight)', legend: '{{instance}}' }],
        },
        {
          title: 'Backlog against the admission ceiling',
          description:
            'Jobs accepted and not finished (stream entries not acknowledged plus retries waiting), as the api reads it, and JOB_BACKLOG_CEILING: at the ceiling job creation is refused with 503 queue_full. Alert at 80 %.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            { expr: 'max(media_cluster_job_backlog)', legend: 'backlog' },
            { expr: 'max(media_cluster_job_backlog_ceiling)', legend: 'ceiling' },
          ],
        },
        {
          title: 'Job creations shed (503)',
          description:
            'Job creations refused per second because the backlog was at its ceiling: clients were told to come back after Retry-After.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [{ expr: `sum(rate(media_cluster_jobs_shed_total[${RATE}]))`, legend: 'shed' }],
        },
      ],
    },
    {
      title: 'Failures',
      panels: [
        {
          title: 'Retries and dead letters',
          description:
            'Attempts scheduled for retry, and jobs moved to the DLQ after MAX_ATTEMPTS, per second.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum(rate(media_cluster_retries_total[${RATE}]))`, legend: 'retries' },
            { expr: `sum(rate(media_cluster_deadletter_total[${RATE}]))`, legend: 'dead-lettered' },
          ],
        },
        {
          title: 'Photos that could not be used, by reason',
          description: 'Missing blob, corrupt, unsupported type, too large: per second.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (reason) (rate(media_cluster_photos_failed_total[${RATE}]))`,
              legend: '{{reason}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Queue RED from spans (collector spanmetrics; same data as the Jaeger Monitor tab)',
      panels: [
        {
          title: 'Stream operations per second',
          description: 'send / process spans on media-cluster:jobs, from the spanmetrics connector.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (messaging_operation_type, status_code) (rate(traces_span_metrics_calls_total{messaging_destination_name="media-cluster:jobs"}[${RATE}]))`,
              legend: '{{messaging_operation_type}} {{status_code}}',
            },
          ],
        },
        {
          title: 'Stream operation p95',
          description: 'Duration of the send / process spans on media-cluster:jobs.',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: `histogram_quantile(0.95, sum by (le, messaging_operation_type) (rate(traces_span_metrics_duration_milliseconds_bucket{messaging_destination_name="media-cluster:jobs"}[${RATE}])))`,
              legend: '{{messaging_operation_type}}',
              exemplar: true,
            },
          ],
        },
      ],
    },
    {
      title: "Telemetry pipeline (the collector's own metrics)",
      panels: [
        {
          title: 'Collector up',
          description: 'Is Prometheus able to scrape the collector that carries every app metric? 0 = blind.',
          kind: 'stat',
          unit: 'short',
          baseColor: 'red',
          thresholds: [[1, 'green']],
          queries: [{ expr: 'min(up{job="otel-collector"})' }],
        },
        {
          title: 'Telemetry into the collector',
          description:
            'Spans and metric points accepted per second, and those refused (memory_limiter): refused data is lost after the SDK retries.',
          kind: 'timeseries',
          unit: 'short',
          width: 18,
          queries: [
            {
              expr: `sum(rate(otelcol_receiver_accepted_spans_total{${COLLECTOR}}[${RATE}]))`,
              legend: 'spans',
            },
            {
              expr: `sum(rate(otelcol_receiver_accepted_metric_points_total{${COLLECTOR}}[${RATE}]))`,
              legend: 'metric points',
            },
            {
              expr: `sum(rate(otelcol_receiver_refused_spans_total{${COLLECTOR}}[${RATE}])) + sum(rate(otelcol_receiver_refused_metric_points_total{${COLLECTOR}}[${RATE}]))`,
              legend: 'refused',
            },
          ],
        },
        {
          title: 'Collector exports: sent and failed',
          description:
            'Items sent per exporter (Jaeger, the Prometheus endpoint), and trace items that failed to send: failures mean traces missing in Jaeger.',
          kind: 'timeseries',
          unit: 'short',
          width: 24,
          queries: [
            {
              expr: `sum by (exporter) (rate(otelcol_exporter_sent_spans_total{${COLLECTOR}}[${RATE}]))`,
              legend: '{{exporter}} spans',
            },
            {
              expr: `sum by (exporter) (rate(otelcol_exporter_sent_metric_points_total{${COLLECTOR}}[${RATE}]))`,
              legend: '{{exporter}} metric points',
            },
            {
              // The failure counter appears with the first failure: read 0 until then.
              expr: `sum by (exporter) (rate(otelcol_exporter_send_failed_spans_total{${COLLECTOR}}[${RATE}])) or sum by (exporter) (rate(otelcol_exporter_sent_spans_total{${COLLECTOR}}[${RATE}])) * 0`,
              legend: '{{exporter}} failed',
            },
          ],
        },
      ],
    },
  ],
};

export const api: DashboardSpec = {
  uid: 'media-cluster-api',
  file: 'api.json',
  title: 'Media cluster / API (RED by route)',
  description: 'Rate, errors and duration of every API route (probes excluded), and the process behind it.',
  tags: ['media-cluster', 'api', 'red'],
  rows: [
    {
      title: 'Rate and errors',
      panels: [
        {
          title: 'Requests per second by route',
          description: 'Route templates only: no ids in labels.',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (http_route, http_request_method) (rate(${HTTP}_count{${NOT_PROBES}}[${RATE}]))`,
              legend: '{{http_request_method}} {{http_route}}',
            },
          ],
        },
        {
          title: '5xx ratio by route',
          description: 'Server errors / all answers. The availability SLO allows 0.1 %.',
          kind: 'timeseries',
          unit: 'percentunit',
          thresholds: [[0.001, 'red']],
          queries: [
            {
              expr: `(sum by (http_route) (rate(${HTTP}_count{${NOT_PROBES}, http_response_status_code=~"5.."}[${RATE}])) or sum by (http_route) (rate(${HTTP}_count{${NOT_PROBES}}[${RATE}])) * 0) / sum by (http_route) (rate(${HTTP}_count{${NOT_PROBES}}[${RATE}]))`,
              legend: '{{http_route}}',
            },
          ],
        },
        {
          title: 'Answers by status code',
          description: '2xx, 3xx (304 on status polls), 4xx (client mistakes, auth), 5xx.',
          kind: 'timeseries',
          unit: 'reqps',
          width: 24,
          queries: [
            {
              expr: `sum by (http_response_status_code) (rate(${HTTP}_count{${NOT_PROBES}}[${RATE}]))`,
              legend: '{{http_response_status_code}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Duration',
      panels: [
        {
          title: 'p95 latency by route',
          description: 'SLO: p95 < 2 s (the SDK histogram the SLO rules read).',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[2, 'red']],
          queries: [
            {
              expr: `histogram_quantile(0.95, sum by (le, http_route) (rate(${HTTP}_bucket{${NOT_PROBES}}[${RATE}])))`,
              legend: '{{http_route}}',
            },
          ],
        },
        {
          title: 'Server span p95 by route (exemplars open the request trace)',
          description:
            'The api SERVER spans measured by the collector (spanmetrics): its buckets carry trace ids, so a dot opens that request in Jaeger.',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: `histogram_quantile(0.95, sum by (le, http_route) (rate(traces_span_metrics_duration_milliseconds_bucket{service_name="media-cluster-api", span_kind="SPAN_KIND_SERVER", ${NOT_PROBES}}[${RATE}])))`,
              legend: '{{http_route}}',
              exemplar: true,
            },
          ],
        },
        {
          title: 'p50 latency by route',
          description: 'The typical request, for comparison with the tail.',
          kind: 'timeseries',
          unit: 's',
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (le, http_route) (rate(${HTTP}_bucket{${NOT_PROBES}}[${RATE}])))`,
              legend: '{{http_route}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Status polls and process',
      panels: [
        {
          title: 'ETag hit ratio on GET /v1/jobs/{id}',
          description: 'Polls answered 304 Not Modified / all polls. Target > 60 %.',
          kind: 'timeseries',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [
            {
              expr: `sum(rate(media_cluster_status_poll_304_total[${RATE}])) / sum(rate(media_cluster_status_polls_total[${RATE}]))`,
              legend: '304 / polls',
            },
          ],
        },
        {
          title: 'Resident memory per process',
          description: 'Resident set size; compose limits are 512 MiB (api) and 1.5 GiB (worker).',
          kind: 'timeseries',
          unit: 'bytes',
          queries: [
            {
              expr: 'max by (job, instance) (process_resident_memory_bytes)',
              legend: '{{job}} {{instance}}',
            },
          ],
        },
        {
          title: 'Memory used of its limit, per process',
          description:
            'Resident memory / process_memory_limit_bytes (the container limit, else the machine memory). Alert at 80 % (ProcessMemoryHigh).',
          kind: 'timeseries',
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: [[0.8, 'red']],
          queries: [
            {
              expr: 'max by (job, instance) (process_resident_memory_bytes) / max by (job, instance) (process_memory_limit_bytes)',
              legend: '{{job}} {{instance}}',
            },
          ],
        },
      ],
    },
  ],
};

export const slo: DashboardSpec = {
  uid: 'media-cluster-slo',
  file: 'slo.json',
  title: 'Media cluster / SLOs',
  description:
    'Availability 99.9 % (30 d) with its error budget and burn rates, and the latency, success and efficiency objectives.',
  tags: ['media-cluster', 'slo'],
  rows: [
    {
      title: 'Availability (non-5xx answers, SLO 99.9 % over 30 days)',
      panels: [
        {
          title: 'Availability, 30 days',
          description: '1 - 5xx ratio over 30 days (probes excluded).',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [[0.999, 'green']],
          queries: [{ expr: '1 - slo:http_errors:ratio_rate30d' }],
        },
        {
          title: 'Error budget left',
          description: '1 = untouched, 0 = spent, negative = overspent. Budget: 0.1 % of answers.',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [
            [0.25, 'orange'],
            [0.5, 'green'],
          ],
          queries: [{ expr: 'slo:http_availability:error_budget_remaining' }],
        },
        {
          title: 'Availability, last 5 minutes',
          description: 'Pages below 99.5 % (ApiAvailabilityBelowSLO).',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [
            [0.995, 'orange'],
            [0.999, 'green'],
          ],
          queries: [{ expr: '1 - slo:http_errors:ratio_rate5m' }],
        },
        {
          title: 'Requests per second',
          description: 'Volume behind the ratios (probes excluded).',
          kind: 'stat',
          unit: 'reqps',
          queries: [{ expr: 'sum(job:http_server_requests:rate5m)' }],
        },
        {
          title: 'Burn rate by window',
          description:
            'Error ratio / budget (0.1 %). 1 = spending exactly the budget. Pages: 14.4 (1 h and 5 m), 6 (6 h and 30 m); tickets: 3 (1 d and 2 h), 1 (3 d and 6 h).',
          kind: 'timeseries',
          unit: 'none',
          width: 24,
          thresholds: [
            [1, 'yellow'],
            [6, 'orange'],
            [14.4, 'red'],
          ],
          queries: [
            { expr: 'slo:http_errors:ratio_rate5m / 0.001', legend: '5m' },
            { expr: 'slo:http_errors:ratio_rate30m / 0.001', legend: '30m' },
            { expr: 'slo:http_errors:ratio_rate1h / 0.001', legend: '1h' },
            { expr: 'slo:http_errors:ratio_rate2h / 0.001', legend: '2h' },
            { expr: 'slo:http_errors:ratio_rate6h / 0.001', legend: '6h' },
            { expr: 'slo:http_errors:ratio_rate1d / 0.001', legend: '1d' },
            { expr: 'slo:http_errors:ratio_rate3d / 0.001', legend: '3d' },
          ],
        },
      ],
    },
    {
      title: 'Latency objectives (p95 over 5 minutes)',
      panels: [
        {
          title: 'HTTP p95 by route (SLO 2 s)',
          description: 'route:http_server_request_duration_seconds:p95_5m',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[2, 'red']],
          queries: [{ expr: 'route:http_server_request_duration_seconds:p95_5m', legend: '{{http_route}}' }],
        },
        {
          title: 'Queue latency p95 (SLO 60 s)',
          description: 'media_cluster:queue_latency_seconds:p95_5m',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[60, 'red']],
          queries: [{ expr: 'media_cluster:queue_latency_seconds:p95_5m', legend: 'p95' }],
        },
        {
          title: 'Processing p95 (SLO 300 s)',
          description: 'media_cluster:processing_duration_seconds:p95_5m',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[300, 'red']],
          queries: [{ expr: 'media_cluster:processing_duration_seconds:p95_5m', legend: 'p95' }],
        },
        {
          title: 'Webhook delivery p95 (SLO 5 s)',
          description: 'media_cluster:webhook_delivery_seconds:p95_5m',
          kind: 'timeseries',
          unit: 's',
          thresholds: [[5, 'red']],
          queries: [{ expr: 'media_cluster:webhook_delivery_seconds:p95_5m', legend: 'p95' }],
        },
      ],
    },
    {
      title: 'Outcome objectives',
      panels: [
        {
          title: 'Job success, 30 minutes (SLO > 95 %)',
          description:
            'Succeeded / (succeeded + dead-lettered): final outcomes, retries that worked count as success.',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [[0.95, 'green']],
          queries: [{ expr: 'media_cluster:job_success:ratio_rate30m' }],
        },
        {
          title: 'Job attempt error rate, 5 minutes (SLO < 1 %)',
          description: 'Failed + dead-lettered attempts / all attempts.',
          kind: 'stat',
          unit: 'percentunit',
          thresholds: [[0.01, 'red']],
          queries: [{ expr: 'media_cluster:job_attempt_errors:ratio_rate5m' }],
        },
        {
          title: 'ETag hit ratio, 30 minutes (target > 60 %)',
          description: 'Status polls answered 304. Info alert below 30 %.',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [
            [0.3, 'orange'],
            [0.6, 'green'],
          ],
          queries: [{ expr: 'media_cluster:status_poll_etag_hits:ratio_rate30m' }],
        },
        {
          title: 'Pending jobs',
          description: 'PendingBacklogGrowing fires above 50 and growing for 15 minutes.',
          kind: 'stat',
          unit: 'short',
          thresholds: [[50, 'orange']],
          queries: [{ expr: 'media_cluster:pending_jobs:max' }],
        },
      ],
    },
  ],
};

export const security: DashboardSpec = {
  uid: 'media-cluster-security',
  file: 'security.json',
  title: 'Media cluster / Security',
  description:
    'Authentication failures, rate limits, owner-isolation denials, idempotency conflicts and webhook delivery.',
  tags: ['media-cluster', 'security'],
  rows: [
    {
      title: 'Access',
      panels: [
        {
          title: 'Authentication failures by reason',
          description: 'missing_key, invalid_key (401) and not_owner, per second.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (reason) (rate(media_cluster_auth_failures_total[${RATE}]))`,
              legend: '{{reason}}',
            },
          ],
        },
        {
          title: 'Rate-limited requests by reason (429)',
          description:
            'jobs, uploads: an owner over its write limit (RATE_LIMIT_JOBS, RATE_LIMIT_UPLOADS); auth_failures: a client address that spent its failed authentications (RATE_LIMIT_AUTH_FAILURES), a key-guessing pattern. Per second.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (reason) (rate(media_cluster_rate_limited_total[${RATE}]))`,
              legend: '{{reason}}',
            },
          ],
        },
        {
          title: 'Owner-isolation denials',
          description: "Requests for another owner's pet, answered 404 so the pet's existence does not leak.",
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum(rate(media_cluster_auth_failures_total{reason="not_owner"}[${RATE}]))`,
              legend: 'not_owner',
            },
          ],
        },
        {
          title: 'Client errors by route and status',
          description: '4xx answers: scans and broken clients show up here first.',
          kind: 'timeseries',
          unit: 'reqps',
          width: 24,
          queries: [
            {
              expr: `sum by (http_route, http_response_status_code) (rate(${HTTP}_count{${NOT_PROBES}, http_response_status_code=~"4.."}[${RATE}]))`,
              legend: '{{http_response_status_code}} {{http_route}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Idempotency and webhooks',
      panels: [
        {
          title: 'Idempotency-Key conflicts',
          description: 'Same key, different body: 409. Alert above 3 per minute for 10 minutes.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum(rate(media_cluster_idempotency_conflicts_total[${RATE}]))`, legend: 'conflicts' },
          ],
        },
        {
          title: 'Webhook success ratio',
          description: 'Deliveries that reached the receiver / all deliveries (after retries).',
          kind: 'timeseries',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [
            {
              expr: `(sum(rate(media_cluster_webhook_delivery_seconds_count{outcome="delivered"}[${RATE}])) or sum(rate(media_cluster_webhook_delivery_seconds_count[${RATE}])) * 0) / sum(rate(media_cluster_webhook_delivery_seconds_count[${RATE}]))`,
              legend: 'delivered',
            },
          ],
        },
        {
          title: 'Webhook failures by reason',
          description: 'timeout, http_status, network, refused (host not allowed at delivery time).',
          kind: 'timeseries',
          unit: 'ops',
          width: 24,
          queries: [
            {
              expr: `sum by (reason) (rate(media_cluster_webhook_failures_total[${RATE}]))`,
              legend: '{{reason}}',
            },
          ],
        },
      ],
    },
  ],
};

export const business: DashboardSpec = {
  uid: 'media-cluster-business',
  file: 'business.json',
  title: 'Media cluster / Business',
  description: 'What the pipeline delivers: photos processed, jobs completed, clusters found.',
  tags: ['media-cluster', 'business'],
  rows: [
    {
      title: 'Output',
      panels: [
        {
          title: 'Photos processed per hour',
          description: 'Photos embedded in the last hour.',
          kind: 'stat',
          unit: 'short',
          queries: [{ expr: 'sum(increase(media_cluster_photos_processed_total[1h]))' }],
        },
        {
          title: 'Jobs queued per hour',
          description: 'Clustering jobs created through the API in the last hour.',
          kind: 'stat',
          unit: 'short',
          queries: [{ expr: 'sum(increase(media_cluster_jobs_total{status="queued"}[1h]))' }],
        },
        {
          title: 'Job completion rate, 1 hour',
          description: 'Succeeded / finished (succeeded + dead-lettered) in the last hour.',
          kind: 'stat',
          unit: 'percentunit',
          baseColor: 'red',
          thresholds: [[0.95, 'green']],
          queries: [
            {
              expr: 'sum(increase(media_cluster_jobs_total{status="succeeded"}[1h])) / sum(increase(media_cluster_jobs_total{status=~"succeeded|dead_lettered"}[1h]))',
            },
          ],
        },
        {
          title: 'Clusters per job (mean, 1 hour)',
          description: 'Groups of similar photos found per succeeded job.',
          kind: 'stat',
          unit: 'short',
          queries: [
            {
              expr: 'sum(rate(media_cluster_clusters_per_job_sum[1h])) / sum(rate(media_cluster_clusters_per_job_count[1h]))',
            },
          ],
        },
      ],
    },
    {
      title: 'Trends',
      panels: [
        {
          title: 'Jobs finished per hour by outcome',
          description: 'Final outcomes per hour.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (status) (increase(media_cluster_jobs_total{status=~"succeeded|dead_lettered"}[1h]))',
              legend: '{{status}}',
            },
          ],
        },
        {
          title: 'Clusters per job (p50 / p90)',
          description: 'Distribution of clusters found per job.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            { expr: p95('media_cluster_clusters_per_job', '', 0.5), legend: 'p50' },
            { expr: p95('media_cluster_clusters_per_job', '', 0.9), legend: 'p90' },
          ],
        },
        {
          title: 'Photos processed and rejected per hour',
          description: 'Rejected by reason: corrupt, unsupported type, missing blob, too large.',
          kind: 'timeseries',
          unit: 'short',
          width: 24,
          queries: [
            { expr: 'sum(increase(media_cluster_photos_processed_total[1h]))', legend: 'processed' },
            {
              expr: 'sum by (reason) (increase(media_cluster_photos_failed_total[1h]))',
              legend: 'rejected: {{reason}}',
            },
          ],
        },
      ],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [pipeline, api, slo, security, business];
