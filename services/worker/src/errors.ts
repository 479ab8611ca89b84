import { JobError } from '@media-cluster/queue';

/** Stable error codes of the worker (`WORKER_*`, like every package's `<PACKAGE>_*` codes). */
export type WorkerErrorCode = 'WORKER_JOB_NOT_FOUND' | 'WORKER_JOB_TOO_LARGE' | 'WORKER_NO_USABLE_PHOTOS';

/**
 * A job failure the worker understands. It is the queue's {@link JobError}, so
 * `retryable: false` sends the job straight to the DLQ; anything else is retried.
 */
export class WorkerError extends JobError<WorkerErrorCode> {
  constructor(
    code: WorkerErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'WorkerError';
  }
}
