/** Stable error codes of the queue package. */
export type QueueErrorCode =
  /** createProducer/createConsumer got bad options. */
  | 'QUEUE_INVALID_OPTIONS'
  /** `send()` got a job without a usable job id / pet id / attempt. */
  | 'QUEUE_INVALID_JOB'
  /** `send()`/`start()` after `close()`. */
  | 'QUEUE_CLOSED'
  /** XADD failed (Redis unreachable, stream of another type, ...). */
  | 'QUEUE_SEND_FAILED'
  /** A stream entry is missing fields or has invalid ones (it goes to the DLQ). */
  | 'QUEUE_MALFORMED_ENTRY'
  /** A handler's signal was aborted: its entry was taken over by another consumer, or close() timed out. */
  | 'QUEUE_ABORTED'
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

export function isQueueError(error: unknown, code?: QueueErrorCode): error is QueueError {
  return error instanceof QueueError && (code === undefined || error.code === code);
}
