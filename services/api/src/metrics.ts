import { API_METRICS, LABEL_REASON, LABEL_STATUS, type MetricSpec } from '@media-cluster/semconv';
import { type Meter, metrics } from '@opentelemetry/api';

export const AUTH_FAILURE_REASONS = ['missing_key', 'invalid_key', 'not_owner'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * The api's instruments (docs/metrics.md, "api" rows; names from
 * @media-cluster/semconv). OTel counter names get `_total` in Prometheus. Every series is touched with add(0) at start-up
 * so alerts and dashboards see it before the first event.
 */
export function createApiMetrics(meter: Meter = metrics.getMeter('@media-cluster/api')) {
  const counter = ({ name, description }: MetricSpec) => meter.createCounter(name, { description });
  const m = {
    jobs: counter(API_METRICS.jobs),
    idempotencyConflicts: counter(API_METRICS.idempotencyConflicts),
    statusPolls: counter(API_METRICS.statusPolls),
    statusPoll304: counter(API_METRICS.statusPoll304),
    authFailures: counter(API_METRICS.authFailures),
  };
  // Label objects made once (the SDK hashes the one it is given on every record).
  const queuedLabels = Object.freeze({ [LABEL_STATUS]: 'queued' });
  const authLabels = new Map(
    AUTH_FAILURE_REASONS.map((reason) => [reason, Object.freeze({ [LABEL_REASON]: reason })]),
  );
  const authFailureLabels = (reason: AuthFailureReason) => authLabels.get(reason)!;
  m.jobs.add(0, queuedLabels);
  m.idempotencyConflicts.add(0);
  m.statusPolls.add(0);
  m.statusPoll304.add(0);
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.add(0, authFailureLabels(reason));
  return { ...m, queuedLabels, authFailureLabels };
}
