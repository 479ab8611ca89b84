/**
 * Metric instruments (docs/metrics.md is the contract). Instrument names are
 * the Prometheus names minus `_total` on counters: the OTel JS Prometheus
 * exporter and the collector both append `_total` to monotonic sums, neither
 * appends a unit suffix a name already ends with, and `{...}` units add nothing.
 */

/** Prefix of every metric of ours; the queue is given it by its callers. */
export const METRIC_PREFIX = 'media_cluster';

/**
 * Bucket bounds, in seconds, of every histogram named `*_seconds` (and the
 * HTTP and pg durations): from 1 ms (API requests) to 10 min (queue latency
 * and processing; the alerts fire at 60 s and 300 s, which are bounds here so
 * their quantiles are exact at the threshold).
 */
export const SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
]);

/** Bounds of `media_cluster_clusters_per_job`. */
export const CLUSTERS_PER_JOB_BUCKETS: readonly number[] = Object.freeze([1, 2, 3, 5, 8, 13, 21, 34, 50]);

export const UNIT_SECONDS = 's';
export const UNIT_JOBS = '{job}';

/** One instrument: its name, unit and description. */
export interface MetricSpec {
  readonly name: string;
  readonly unit?: string;
  readonly description: string;
}

const spec = (name: string, description: string, unit?: string): MetricSpec =>
  Object.freeze(unit === undefined ? { name, description } : { name, unit, description });

/**
 * The queue's instruments, named from a prefix (the queue receives the
 * prefix, so a library of its own does not hard-code ours).
 */
export function queueMetricNames(prefix: string = METRIC_PREFIX) {
  return Object.freeze({
    jobs: `${prefix}_jobs`,
    retries: `${prefix}_retries`,
    deadLetter: `${prefix}_deadletter`,
    processingDuration: `${prefix}_processing_duration_seconds`,
    queueLatency: `${prefix}_queue_latency_seconds`,
    pendingJobs: `${prefix}_pending_jobs`,
    consumerLag: `${prefix}_consumer_lag`,
    workerInflight: `${prefix}_worker_inflight`,
    published: `${prefix}_messages_published`,
    consumed: `${prefix}_messages_consumed`,
  });
}
export type QueueMetricNames = ReturnType<typeof queueMetricNames>;

/** The worker's own instruments. */
export const WORKER_METRICS = Object.freeze({
  embedding: spec(
    `${METRIC_PREFIX}_embedding_duration_seconds`,
    'Time to decode and embed the photos of one job',
    UNIT_SECONDS,
  ),
  clustering: spec(
    `${METRIC_PREFIX}_clustering_duration_seconds`,
    'Time to cluster the embeddings of one job',
    UNIT_SECONDS,
  ),
  postgresWrite: spec(
    `${METRIC_PREFIX}_postgres_write_seconds`,
    'Time of the result transaction of one job',
    UNIT_SECONDS,
  ),
  webhookDelivery: spec(
    `${METRIC_PREFIX}_webhook_delivery_seconds`,
    'Time to deliver one webhook, retries included',
    UNIT_SECONDS,
  ),
  webhookFailures: spec(
    `${METRIC_PREFIX}_webhook_failures`,
    'Webhook deliveries that failed after all attempts, by reason',
  ),
  photosProcessed: spec(`${METRIC_PREFIX}_photos_processed`, 'Photos embedded'),
  photosFailed: spec(`${METRIC_PREFIX}_photos_failed`, 'Photos that could not be used, by reason'),
  clustersPerJob: spec(`${METRIC_PREFIX}_clusters_per_job`, 'Clusters found per succeeded job'),
});

/** The api's own instruments. */
export const API_METRICS = Object.freeze({
  jobs: spec(`${METRIC_PREFIX}_jobs`, 'Clustering jobs by status (api: queued)'),
  idempotencyConflicts: spec(
    `${METRIC_PREFIX}_idempotency_conflicts`,
    'Idempotency-Key reused with another request (409)',
  ),
  statusPolls: spec(`${METRIC_PREFIX}_status_polls`, 'GET /v1/jobs/{jobId} requests'),
  statusPoll304: spec(`${METRIC_PREFIX}_status_poll_304`, 'GET /v1/jobs/{jobId} answered 304 Not Modified'),
  authFailures: spec(
    `${METRIC_PREFIX}_auth_failures`,
    'Requests refused for a missing or invalid API key, or another owner resource',
  ),
  rateLimited: spec(`${METRIC_PREFIX}_rate_limited`, 'Requests answered 429, by the limit they hit'),
  jobsShed: spec(
    `${METRIC_PREFIX}_jobs_shed`,
    'Job creations refused with 503 because the backlog was at JOB_BACKLOG_CEILING',
  ),
  jobBacklog: spec(
    `${METRIC_PREFIX}_job_backlog`,
    'Jobs accepted and not finished: stream entries not acknowledged (delivered or not) plus retries waiting',
    UNIT_JOBS,
  ),
  jobBacklogCeiling: spec(
    `${METRIC_PREFIX}_job_backlog_ceiling`,
    'JOB_BACKLOG_CEILING: job creation is refused (503) at this backlog; 0 = off',
    UNIT_JOBS,
  ),
});

/** Metric label names and the fixed values they take. */
export const LABEL_STATUS = 'status';
export const LABEL_REASON = 'reason';
export const LABEL_OUTCOME = 'outcome';
export const LABEL_MODEL_VERSION = 'model_version';
