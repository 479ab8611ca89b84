import { hostname } from 'node:os';
import { type DestinationStream, type Logger, pino } from 'pino';
import { TelemetryError } from './errors.js';
import type { PinoLogBridge } from './log-bridge.js';
import { telemetryState } from './state.js';

export interface CreateLoggerOptions {
  /** Logger name, e.g. `api` or `worker`; appears as `name` on every line. */
  name: string;
  /** Minimum level (trace, debug, info, warn, error, fatal, silent). @defaultValue `LOG_LEVEL`, else `info` */
  level?: string;
  /** Extra fields on every line (pid and hostname are always there). @defaultValue `{}` */
  base?: Record<string, unknown>;
  /** Where lines go. @defaultValue stdout */
  destination?: DestinationStream;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** Fields that may carry credentials: never written, whatever logs them. */
const REDACT = [
  'authorization',
  'password',
  'token',
  'apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/**
 * A pino logger writing JSON lines to stdout. When the process runs with the
 * telemetry register entry point, the pino instrumentation adds `trace_id`,
 * `span_id` and `trace_flags` to lines logged inside a span, and every line
 * is also sent over OTLP (batched by PinoLogBridge, unless
 * OTEL_LOGS_EXPORTER=none); without it, this is plain pino.
 *
 * @throws TelemetryError `TELEMETRY_INVALID_LOG_LEVEL` for an unknown level.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = (options.level ?? process.env.LOG_LEVEL ?? 'info').trim().toLowerCase() || 'info';
  if (!LEVELS.has(level)) {
    throw new TelemetryError(
      'TELEMETRY_INVALID_LOG_LEVEL',
      `LOG_LEVEL must be one of ${[...LEVELS].join(', ')} (got ${JSON.stringify(options.level ?? process.env.LOG_LEVEL)})`,
    );
  }
  const bridge = telemetryState().logBridge;
  return pino(
    {
      name: options.name,
      level,
      base: { pid: process.pid, hostname: hostname(), ...options.base },
      // Labels read better than numbers in `docker logs`; the OTLP severity
      // comes from the numeric level either way.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    bridge ? teeToBridge(options.destination ?? stdoutDestination(), bridge) : options.destination,
  );
}

/**
 * What pino itself writes to when given no destination: an async SonicBoom on
 * fd 1 (flushed at exit), or process.stdout where something (a test runner)
 * has replaced its write.
 */
function stdoutDestination(): DestinationStream {
  const stdout = process.stdout;
  if (stdout.write !== Object.getPrototypeOf(stdout).write) return stdout;
  return pino.destination({ dest: stdout.fd || 1, sync: false });
}

/** What pino tells a destination that asks for metadata (`Symbol.for('pino.metadata')`). */
interface MetadataStream extends DestinationStream {
  lastLevel: number;
}

/**
 * Every line still goes to the destination first, unchanged; the same string
 * then waits in the bridge, which turns lines into OTLP log records in
 * batches (log-bridge.ts). pino's documented metadata-stream contract
 * (`Symbol.for('pino.metadata')`) gives the tee each line's numeric level;
 * children share the root's stream.
 */
function teeToBridge(destination: DestinationStream, bridge: PinoLogBridge): DestinationStream {
  const inner = destination as DestinationStream & {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
    end?: () => void;
  };
  const tee: MetadataStream & Record<string | symbol, unknown> = {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 0,
    write(line: string) {
      inner.write(line);
      bridge.push(line, this.lastLevel);
    },
  };
  if (typeof inner.flush === 'function') tee.flush = inner.flush.bind(inner);
  if (typeof inner.flushSync === 'function') tee.flushSync = inner.flushSync.bind(inner);
  if (typeof inner.end === 'function') tee.end = inner.end.bind(inner);
  return tee;
}
