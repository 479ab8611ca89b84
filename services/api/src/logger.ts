import pino from 'pino';

/** The logger shape the api uses (pino's). */
export type Logger = pino.Logger;

/**
 * Fallback pino logger for code paths that run without @media-cluster/telemetry's
 * createLogger (tests pass their own). Keys named like secrets are redacted.
 */
export function createPinoLogger(
  options: { level?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      name: 'api',
      level: options.level ?? 'info',
      base: { service: 'api' },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['authorization', '*.authorization', 'apiKey', '*.apiKey'], censor: '[redacted]' },
    },
    options.destination,
  );
}
