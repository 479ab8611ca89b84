import { createSelfLog } from './self-log.js';
import { DEFAULTS } from './settings.js';
import { telemetryState } from './state.js';

export interface ShutdownOptions {
  /** Give up flushing after this long (a hung collector must not hold SIGTERM). @defaultValue 5_000 ms */
  timeoutMs?: number;
}

/**
 * Flushes every pending span, metric and log record and shuts the SDK down,
 * within `timeoutMs`. Call it last when handling SIGTERM, after the work that
 * produces telemetry has stopped. Never rejects; safe to call more than once
 * (later calls return the first call's promise). Without a started SDK it
 * resolves at once.
 */
export function shutdownTelemetry(options: ShutdownOptions = {}): Promise<void> {
  const state = telemetryState();
  const shutdownSdk = state.shutdownSdk;
  if (!shutdownSdk) return Promise.resolve();
  state.shutdownPromise ??= (async () => {
    const timeoutMs = options.timeoutMs ?? DEFAULTS.shutdownTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      // shutdownSdk never rejects: failures are reported by the export health.
      shutdownSdk().then(() => 'done' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    state.collect = undefined;
    if (outcome === 'timeout') {
      state.abandonExports?.();
      createSelfLog()(
        'warn',
        `telemetry shutdown did not finish within ${timeoutMs} ms; unsent telemetry is dropped`,
      );
    }
  })();
  return state.shutdownPromise;
}
