import { diag } from '@opentelemetry/api';
import type { QueueLogger } from './types.js';

/** Without a logger the queue reports through OTel `diag` (silent unless a diag logger is set). */
export const diagLogger: QueueLogger = {
  info: (obj, msg) => diag.info(msg, obj),
  warn: (obj, msg) => diag.warn(msg, obj),
  error: (obj, msg) => diag.error(msg, obj),
  debug: (obj, msg) => diag.debug(msg, obj),
};

/** A short, bounded description of an error for span attributes and DLQ entries. */
export function describeError(error: unknown): { message: string; type: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const type =
    typeof code === 'string' && code.length > 0
      ? code
      : error instanceof Error
        ? error.name || 'Error'
        : typeof error;
  return { message: message.length > 2_000 ? `${message.slice(0, 2_000)}…` : message, type };
}

/**
 * Logs the first failure of a repeating operation at warn, then only every
 * 50th (the rest at debug), and one info line when it works again: a Redis
 * outage gives a handful of lines, not one per retry.
 */
export class FailureLog {
  private failures = 0;

  constructor(
    private readonly logger: QueueLogger,
    private readonly what: string,
    private readonly fields: object = {},
    /** What follows `what` on the warning line. */
    private readonly outcome = 'failed; retrying with backoff',
  ) {}

  /** Records a failure; returns how many in a row. */
  failed(error: unknown): number {
    this.failures += 1;
    const obj = { ...this.fields, err: error, failures: this.failures };
    if (this.failures === 1 || this.failures % 50 === 0)
      this.logger.warn(obj, `${this.what} ${this.outcome}`);
    else this.logger.debug?.(obj, `${this.what} failed again`);
    return this.failures;
  }

  succeeded(): void {
    if (this.failures === 0) return;
    this.logger.info({ ...this.fields, failures: this.failures }, `${this.what} works again`);
    this.failures = 0;
  }
}
