import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from '@opentelemetry/semantic-conventions/incubating';

/**
 * The telemetry vocabulary of the queue: messaging semconv names come from
 * `@opentelemetry/semantic-conventions` (never typed by hand), the project's
 * own `media_cluster.*` names are defined once here.
 */
export {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
};

/** Semconv has no value for Redis Streams; the spec says to use the product name. */
export const MESSAGING_SYSTEM_REDIS = 'redis';
export const OPERATION_SEND = MESSAGING_OPERATION_TYPE_VALUE_SEND;
export const OPERATION_PROCESS = MESSAGING_OPERATION_TYPE_VALUE_PROCESS;

/** Span names are `{operation} {destination}` (messaging semconv). */
export const sendSpanName = (stream: string) => `${OPERATION_SEND} ${stream}`;
export const processSpanName = (stream: string) => `${OPERATION_PROCESS} ${stream}`;

export const ATTR_JOB_ID = 'media_cluster.job_id';
export const ATTR_ATTEMPT = 'media_cluster.attempt';
/** How many times Redis delivered this entry (1 on first delivery; more after a consumer died). */
export const ATTR_DELIVERY_COUNT = 'media_cluster.delivery_count';
export const ATTR_NEXT_ATTEMPT = 'media_cluster.next_attempt';
export const ATTR_RETRY_DELAY_MS = 'media_cluster.retry_delay_ms';
export const ATTR_DEAD_LETTER_REASON = 'media_cluster.dead_letter_reason';
export const ATTR_ERROR_MESSAGE = 'media_cluster.error';

/** Span events on the CONSUMER span. */
export const EVENT_REDELIVERED = 'media_cluster.redelivered';
export const EVENT_RETRY_SCHEDULED = 'media_cluster.retry_scheduled';
export const EVENT_DEAD_LETTERED = 'media_cluster.dead_lettered';
export const EVENT_OWNERSHIP_LOST = 'media_cluster.ownership_lost';

/** Instrumentation scope of the queue's tracer and meter. */
export const SCOPE_NAME = '@media-cluster/queue';

/**
 * Metric instrument names. They are the Prometheus names (docs/metrics.md)
 * minus `_total` on counters: the OTel JS Prometheus exporter and the
 * collector both append `_total` to monotonic sums, neither appends a unit
 * suffix a name already ends with, and `{...}` units are dropped.
 */
export const METRIC = Object.freeze({
  jobs: 'media_cluster_jobs',
  retries: 'media_cluster_retries',
  deadLetter: 'media_cluster_deadletter',
  processingDuration: 'media_cluster_processing_duration_seconds',
  queueLatency: 'media_cluster_queue_latency_seconds',
  pendingJobs: 'media_cluster_pending_jobs',
  consumerLag: 'media_cluster_consumer_lag',
  workerInflight: 'media_cluster_worker_inflight',
  published: 'media_cluster_messages_published',
  consumed: 'media_cluster_messages_consumed',
} as const);
