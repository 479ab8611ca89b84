export interface WaitOptions {
  /** Give up after this long. @defaultValue 10_000 ms */
  timeoutMs?: number;
  /** Pause between polls. @defaultValue 50 ms */
  intervalMs?: number;
  /** Shown in the timeout error. */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or
 * throws after `timeoutMs` with the last error seen. Readiness is always
 * polled with a bound, never slept.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${reason}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
