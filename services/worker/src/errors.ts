/** Stable error codes of the worker; `retryable: false` sends a job straight to the DLQ. */
export type WorkerErrorCode = 'JOB_NOT_FOUND' | 'JOB_TOO_LARGE' | 'NO_USABLE_PHOTOS' | 'WEBHOOK_REFUSED';

export class WorkerError extends Error {
  readonly code: WorkerErrorCode;
  readonly retryable: boolean;

  constructor(
    code: WorkerErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'WorkerError';
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}
