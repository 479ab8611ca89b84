import { API_METRICS, LABEL_REASON, LABEL_STATUS, type MetricSpec } from '@media-cluster/semconv';
import { type BatchObservableResult, type Meter, metrics } from '@opentelemetry/api';

export const AUTH_FAILURE_REASONS = ['missing_key', 'invalid_key', 'not_owner'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Why a request was answered 429: an owner's job or upload bucket, or an address' failed authentications. */
export const RATE_LIMIT_REASONS = ['jobs', 'uploads', 'auth_failures'] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

const METER_NAME = '@media-cluster/api';

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * The api's instruments (docs/metrics.md, "api" rows; names from
 * @media-cluster/semconv). OTel counter names get `_total` in Prometheus. Every series is touched with add(0) at start-up
 * so alerts and dashboards see it before the first event.
 */
export function createApiMetrics(meter: Meter = metrics.getMeter(METER_NAME)) {
  const counter = ({ name, description }: MetricSpec) => meter.createCounter(name, { description });
  const m = {
    jobs: counter(API_METRICS.jobs),
    idempotencyConflicts: counter(API_METRICS.idempotencyConflicts),
    statusPolls: counter(API_METRICS.statusPolls),
    statusPoll304: counter(API_METRICS.statusPoll304),
    authFailures: counter(API_METRICS.authFailures),
    rateLimited: counter(API_METRICS.rateLimited),
    jobsShed: counter(API_METRICS.jobsShed),
  };
  // Label objects made once (the SDK hashes the one it is given on every record).
  const queuedLabels = Object.freeze({ [LABEL_STATUS]: 'queued' });
  const authLabels = new Map(
    AUTH_FAILURE_REASONS.map((reason) => [reason, Object.freeze({ [LABEL_REASON]: reason })]),
  );
  const authFailureLabels = (reason: AuthFailureReason) => authLabels.get(reason)!;
  const limitLabels = new Map(
    RATE_LIMIT_REASONS.map((reason) => [reason, Object.freeze({ [LABEL_REASON]: reason })]),
  );
  const rateLimitLabels = (reason: RateLimitReason) => limitLabels.get(reason)!;
  m.jobs.add(0, queuedLabels);
  m.idempotencyConflicts.add(0);
  m.statusPolls.add(0);
  m.statusPoll304.add(0);
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.add(0, authFailureLabels(reason));
  for (const reason of RATE_LIMIT_REASONS) m.rateLimited.add(0, rateLimitLabels(reason));
  m.jobsShed.add(0);
  return { ...m, queuedLabels, authFailureLabels, rateLimitLabels };
}

/** What the backlog gauges read when collected. */
export interface BacklogSource {
  /** The backlog (fresh within its cache interval), or undefined when Redis cannot tell. */
  backlog(): Promise<number | undefined>;
  readonly ceiling: number;
}

/**
 * `media_cluster_job_backlog` and `media_cluster_job_backlog_ceiling`, read when
 * a reader collects (never on the request path). Returns the function that
 * stops observing.
 */
export function observeBacklog(
  source: BacklogSource,
  meter: Meter = metrics.getMeter(METER_NAME),
): () => void {
  const gauge = ({ name, description, unit }: MetricSpec) =>
    meter.createObservableGauge(name, { description, unit });
  const backlog = gauge(API_METRICS.jobBacklog);
  const ceiling = gauge(API_METRICS.jobBacklogCeiling);
  const callback = async (result: BatchObservableResult) => {
    result.observe(ceiling, source.ceiling);
    const value = await source.backlog();
    // Redis unreachable: no value rather than a misleading 0.
    if (value !== undefined) result.observe(backlog, value);
  };
  meter.addBatchObservableCallback(callback, [backlog, ceiling]);
  return () => meter.removeBatchObservableCallback(callback, [backlog, ceiling]);
}
