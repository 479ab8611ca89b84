import type { DiagLogger } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { SelfLog } from './self-log.js';

export type Signal = 'traces' | 'metrics' | 'logs';

/** SDK messages that mean "the collector did not take our data". */
const EXPORT_PROBLEM = /export|timed? ?out|deadline|unavailable|ECONNREFUSED|ECONNRESET|maxQueueSize/i;

/** Same diagnostic repeated within this window is logged once. */
const REPEAT_WINDOW_MS = 60_000; // 1 min

/**
 * Turns a stream of export failures into one warning per outage. The first
 * failing signal logs a warning naming the endpoint; while any signal is
 * failing, further failures and SDK diagnostics are only counted; once every
 * failing signal has exported successfully again, one info line says so.
 * Nothing here ever throws into the request or job that produced the data.
 */
export class ExportHealth {
  private readonly failing = new Set<Signal | 'sdk'>();
  private suppressed = 0;
  private readonly lastSeen = new Map<string, number>();

  /** When the last outage warning was logged (rate limit for flapping collectors). */
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private warnedThisOutage = false;

  constructor(
    private readonly log: SelfLog,
    private readonly endpoint: string,
    private readonly now: () => number = Date.now,
  ) {}

  get degraded(): boolean {
    return this.failing.size > 0;
  }

  onResult(signal: Signal, result: ExportResult): void {
    if (result.code === 0) {
      const wasDegraded = this.degraded;
      this.failing.delete(signal);
      // A processor's own timeout has no signal: any success clears it.
      this.failing.delete('sdk');
      if (wasDegraded && !this.degraded) {
        if (this.warnedThisOutage) {
          this.log('info', 'telemetry export recovered', {
            endpoint: this.endpoint,
            suppressed: this.suppressed,
          });
        }
        this.suppressed = 0;
      }
      return;
    }
    this.fail(signal, result.error?.message ?? 'export failed');
  }

  /** SDK diagnostics and the global error handler end up here. */
  onDiagnostic(level: 'warn' | 'error', message: string): void {
    if (this.degraded) {
      this.suppressed += 1;
      return;
    }
    // Readers and processors time exports out on their own, sometimes before
    // the exporter reports: that is the same outage, not a second problem.
    if (EXPORT_PROBLEM.test(message)) {
      this.fail('sdk', message);
      return;
    }
    const now = this.now();
    const last = this.lastSeen.get(message);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    if (this.lastSeen.size > 100) this.lastSeen.clear();
    this.lastSeen.set(message, now);
    this.log(level, `telemetry: ${message}`);
  }

  private fail(source: Signal | 'sdk', error: string): void {
    const now = this.now();
    if (this.degraded) {
      this.suppressed += 1;
    } else if (now - this.lastWarnAt < REPEAT_WINDOW_MS) {
      // A collector that flaps (or a queue that overflows now and then) warns
      // at most once a minute; recoveries of unannounced outages stay quiet.
      this.warnedThisOutage = false;
      this.suppressed += 1;
    } else {
      this.lastWarnAt = now;
      this.warnedThisOutage = true;
      this.log(
        'warn',
        'telemetry export failing; the service keeps running, data is dropped until it recovers',
        {
          endpoint: this.endpoint,
          signal: source,
          error,
        },
      );
    }
    this.failing.add(source);
  }
}

function describe(args: unknown[]): string {
  return args
    .map((arg) => {
      if (arg instanceof Error) return arg.message;
      if (typeof arg === 'string') return arg;
      try {
        return JSON.stringify(arg);
      } catch {
        return String(arg);
      }
    })
    .join(' ')
    .slice(0, 500);
}

/** A diag logger that routes warn/error through {@link ExportHealth}; lower levels go straight out. */
export function createDiagLogger(health: ExportHealth, log: SelfLog): DiagLogger {
  return {
    error: (message, ...args) => health.onDiagnostic('error', describe([message, ...args])),
    warn: (message, ...args) => health.onDiagnostic('warn', describe([message, ...args])),
    info: (message, ...args) => log('info', `telemetry: ${describe([message, ...args])}`),
    debug: (message, ...args) => log('debug', `telemetry: ${describe([message, ...args])}`),
    verbose: (message, ...args) => log('debug', `telemetry: ${describe([message, ...args])}`),
  };
}
