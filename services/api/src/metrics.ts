import { type Meter, metrics } from '@opentelemetry/api';

export const AUTH_FAILURE_REASONS = ['missing_key', 'invalid_key', 'not_owner'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * The api's instruments (docs/metrics.md, "api" rows). OTel counter names
 * get `_total` in Prometheus. Every series is touched with add(0) at start-up
 * so alerts and dashboards see it before the first event.
 */
export function createApiMetrics(meter: Meter = metrics.getMeter('@media-cluster/api')) {
  const m = {
    jobs: meter.createCounter('media_cluster_jobs', {
      description: 'Clustering jobs by status (api: queued)',
    }),
    idempotencyConflicts: meter.createCounter('media_cluster_idempotency_conflicts', {
      description: 'Idempotency-Key reused with another request (409)',
    }),
    statusPolls: meter.createCounter('media_cluster_status_polls', {
      description: 'GET /v1/jobs/{jobId} requests',
    }),
    statusPoll304: meter.createCounter('media_cluster_status_poll_304', {
      description: 'GET /v1/jobs/{jobId} answered 304 Not Modified',
    }),
    authFailures: meter.createCounter('media_cluster_auth_failures', {
      description: 'Requests refused for a missing or invalid API key, or another owner resource',
    }),
  };
  m.jobs.add(0, { status: 'queued' });
  m.idempotencyConflicts.add(0);
  m.statusPolls.add(0);
  m.statusPoll304.add(0);
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.add(0, { reason });
  return m;
}
