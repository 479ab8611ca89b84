/** Stable error codes of the queue package (`QUEUE_*`, like every package's `<PACKAGE>_*` codes). */
export type QueueErrorCode =
  /** createProducer/createConsumer got bad options. */
  | 'QUEUE_INVALID_OPTIONS'
  /** `send()` got a job without a usable job id / payload / partition key / attempt. */
  | 'QUEUE_INVALID_JOB'
  /** `send()`/`start()` after `close()`. */
  | 'QUEUE_CLOSED'
  /** XADD failed (Redis unreachable, stream of another type, ...). */
  | 'QUEUE_SEND_FAILED'
  /** A stream entry is missing fields or has invalid ones (it goes to the DLQ). */
  | 'QUEUE_MALFORMED_ENTRY'
  /** stats(): the consumer group does not exist (not started yet, or deleted). */
  | 'QUEUE_GROUP_MISSING'
  /** An entry was delivered more times than `maxAttempts` allows (e.g. it crashed its consumers). */
  | 'QUEUE_MAX_ATTEMPTS_EXCEEDED';

/** Every error the queue throws or hands to hooks carries a stable `code` and keeps its `cause`. */
export class QueueError extends Error {
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueError';
    this.code = code;
  }
}

/** True for a {@link QueueError} with one of the given codes (any code when none is given). */
export function isQueueError(error: unknown, ...codes: QueueErrorCode[]): error is QueueError {
  return error instanceof QueueError && (codes.length === 0 || codes.includes(error.code));
}

/**
 * The one way a handler says whether a failure may be retried: throw a `JobError`
 * (or a subclass with the service's own codes) with `retryable: false` and the
 * entry goes to the DLQ at once (reason `not_retryable`). Any other error,
 * including a `JobError` with `retryable: true`, is retried with backoff.
 */
export class JobError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly retryable: boolean;

  constructor(code: Code, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'JobError';
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

/** False only for a {@link JobError} that says `retryable: false`. */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof JobError) || error.retryable;
}
