/**
 * Field names of the entries on the job stream (design.md, "Redis Streams"),
 * plus the extra fields a dead-letter entry carries. Nothing else from a
 * request is ever written to the stream.
 */
export const JOB_FIELDS = Object.freeze({
  jobId: 'job_id',
  petId: 'pet_id',
  attempt: 'attempt',
  enqueuedAt: 'enqueued_at',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const);

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
 * `handler_failed`: the last allowed attempt threw; `not_retryable`: the handler threw an
 * error with `retryable: false` (it can never succeed, so no attempt is wasted on it).
 */
export type DeadLetterReason = 'handler_failed' | 'not_retryable' | 'max_attempts_exceeded' | 'malformed';
