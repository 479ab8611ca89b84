import { hostname } from 'node:os';
import { type DestinationStream, type Logger, pino } from 'pino';
import { TelemetryError } from './errors.js';

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
 * `span_id` and `trace_flags` to lines logged inside a span and sends every
 * record over OTLP as well; without it, this is plain pino.
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
    options.destination,
  );
}
