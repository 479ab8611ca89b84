export type EmbedderPoolErrorCode =
  /** `close()` was called before the task ran. */
  | 'CLUSTERING_POOL_CLOSED'
  /** A pool thread died (crash, OOM) or could not start its embedder. */
  | 'CLUSTERING_WORKER_FAILED'
  /** `embedder` names no known embedder. */
  | 'CLUSTERING_UNKNOWN_EMBEDDER';

/** The pool itself failed (not the photo): the job should be retried. */
export class EmbedderPoolError extends Error {
  readonly code: EmbedderPoolErrorCode;

  constructor(code: EmbedderPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbedderPoolError';
    this.code = code;
  }
}
