/**
 * Field names of the entries on the job stream, plus the extra fields a
 * dead-letter entry carries. The queue writes nothing else: what a job is
 * about travels in the caller's opaque `payload`.
 */
export const JOB_FIELDS = Object.freeze({
  jobId: 'job_id',
  /** The caller's ordering key (only when given); the producer also hashes it to pick a shard. */
  partitionKey: 'partition_key',
  /** Opaque to the queue (only when given). */
  payload: 'payload',
  attempt: 'attempt',
  enqueuedAt: 'enqueued_at',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const);

/**
 * Entries written before the queue was domain-free carry `pet_id`; such an entry
 * is still read, with `pet_id` as its partition key, and re-added (retry, DLQ)
 * with `partition_key`.
 */
export const LEGACY_PARTITION_FIELD = 'pet_id';

/**
 * Propagation fields kept on a job: W3C trace context, and `baggage` only when
 * the producer's propagator is configured to write it.
 */
export const PROPAGATION_FIELDS: readonly string[] = Object.freeze([
  JOB_FIELDS.traceparent,
  JOB_FIELDS.tracestate,
  'baggage',
]);

/** Fields a dead-letter entry adds to the original job fields. */
export const DLQ_FIELDS = Object.freeze({
  /** `handler_failed`, `not_retryable`, `max_attempts_exceeded` or `malformed`. */
  reason: 'reason',
  /** The error message (truncated), or what is wrong with a malformed entry. */
  error: 'error',
  /** The error's `code` or `name`, when it has one. */
  errorType: 'error_type',
  /** Id of the entry on the job stream that was dead-lettered. */
  sourceId: 'source_id',
  /** How many times Redis delivered that entry (XPENDING delivery count). */
  deliveryCount: 'delivery_count',
  /** Epoch ms. */
  failedAt: 'failed_at',
  /** Consumer that moved it. */
  consumer: 'consumer',
  /** A malformed entry's fields as JSON (truncated): it has no trustworthy job fields. */
  raw: 'raw',
} as const);

/**
 * `handler_failed`: the last allowed attempt threw; `not_retryable`: the handler threw a
 * `JobError` with `retryable: false` (it can never succeed, so no attempt is wasted on it).
 */
export type DeadLetterReason = 'handler_failed' | 'not_retryable' | 'max_attempts_exceeded' | 'malformed';
