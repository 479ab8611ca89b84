/** Retry delay of the attempt after `attempt`. */
export interface BackoffOptions {
  /** @defaultValue 1_000 ms */
  baseMs: number;
  /** @defaultValue 60_000 ms */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half of `min(maxMs, baseMs * 2^(attempt-1))`
 * is fixed, the other half random, so retries of jobs that failed together spread
 * out but never come back sooner than half the nominal delay.
 */
export function retryDelayMs(
  attempt: number,
  { baseMs, maxMs }: BackoffOptions,
  random = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const nominal = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

/** Reconnect backoff for the consumer's loops: 100 ms doubling to 5 s, jittered. */
export function reconnectDelayMs(failures: number, random = Math.random): number {
  return retryDelayMs(failures, { baseMs: 100, maxMs: 5_000 }, random);
}
