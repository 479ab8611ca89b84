/** Stable codes of {@link DbError}. */
export type DbErrorCode =
  | 'DB_MIGRATION_FAILED'
  | 'DB_MIGRATION_CHANGED'
  | 'DB_MIGRATION_UNKNOWN'
  | 'DB_JOB_NOT_FOUND'
  | 'DB_INVALID_RESULT'
  | 'DB_INVALID_SHA256'
  | 'DB_BLOB_NOT_FOUND'
  | 'DB_BLOB_HASH_MISMATCH';

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

/** SQLSTATEs and socket errors that mean "PostgreSQL is not reachable right now", not "a bug". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/**
 * node-postgres raises these connection failures as plain Errors without a code,
 * so their messages are the only signal; matched here, in the package that owns
 * the driver, and nowhere else.
 */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
];

/** True when `error` says PostgreSQL is unreachable (worth a 503 and a retry), not that a query was wrong. */
export function isDbUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}
