/** Stable codes of {@link DbError}. */
export type DbErrorCode =
  | 'MIGRATION_FAILED'
  | 'MIGRATION_CHANGED'
  | 'MIGRATION_UNKNOWN'
  | 'JOB_NOT_FOUND'
  | 'INVALID_RESULT'
  | 'INVALID_SHA256'
  | 'BLOB_NOT_FOUND'
  | 'BLOB_HASH_MISMATCH';

/** Every error this package throws on purpose; the original error is kept as `cause`. */
export class DbError extends Error {
  readonly code: DbErrorCode;

  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbError';
    this.code = code;
  }
}

/** True for a {@link DbError} with one of the given codes. */
export function isDbError(error: unknown, ...codes: DbErrorCode[]): error is DbError {
  return error instanceof DbError && (codes.length === 0 || codes.includes(error.code));
}
