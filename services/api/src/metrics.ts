import { type BatchObservableResult, type Meter, metrics } from '@opentelemetry/api';

export const AUTH_FAILURE_REASONS = ['missing_key', 'invalid_key', 'not_owner'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Why a request was answered 429: an owner's job or upload bucket, or an address' failed authentications. */
export const RATE_LIMIT_REASONS = ['jobs', 'uploads', 'auth_failures'] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

const METER_NAME = '@media-cluster/api';

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * The api's instruments (docs/metrics.md, "api" rows). OTel counter names
 * get `_total` in Prometheus. Every series is touched with add(0) at start-up
 * so alerts and dashboards see it before the first event.
 */
export function createApiMetrics(meter: Meter = metrics.getMeter(METER_NAME)) {
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
    rateLimited: meter.createCounter('media_cluster_rate_limited', {
      description: 'Requests answered 429, by the limit they hit',
    }),
    jobsShed: meter.createCounter('media_cluster_jobs_shed', {
      description: 'Job creations refused with 503 because the backlog was at JOB_BACKLOG_CEILING',
    }),
  };
  m.jobs.add(0, { status: 'queued' });
  m.idempotencyConflicts.add(0);
  m.statusPolls.add(0);
  m.statusPoll304.add(0);
  for (const reason of AUTH_FAILURE_REASONS) m.authFailures.add(0, { reason });
  for (const reason of RATE_LIMIT_REASONS) m.rateLimited.add(0, { reason });
  m.jobsShed.add(0);
  return m;
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
  const backlog = meter.createObservableGauge('media_cluster_job_backlog', {
    description:
      'Jobs accepted and not finished: stream entries not acknowledged (delivered or not) plus retries waiting',
    unit: '{job}',
  });
  const ceiling = meter.createObservableGauge('media_cluster_job_backlog_ceiling', {
    description: 'JOB_BACKLOG_CEILING: job creation is refused (503) at this backlog; 0 = off',
    unit: '{job}',
  });
  const callback = async (result: BatchObservableResult) => {
    result.observe(ceiling, source.ceiling);
    const value = await source.backlog();
    // Redis unreachable: no value rather than a misleading 0.
    if (value !== undefined) result.observe(backlog, value);
  };
  meter.addBatchObservableCallback(callback, [backlog, ceiling]);
  return () => meter.removeBatchObservableCallback(callback, [backlog, ceiling]);
}
