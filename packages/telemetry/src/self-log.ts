import { hostname } from 'node:os';

export type SelfLogLevel = 'debug' | 'info' | 'warn' | 'error';

const PINO_LEVEL: Record<SelfLogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/**
 * Where the telemetry package reports on itself (collector down, exports
 * recovered, shutdown overran). Lines have the same JSON shape as the
 * services' pino logs, but are written directly: going through pino would
 * feed our own warnings back into the OTLP log pipeline they are about.
 */
export type SelfLog = (level: SelfLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export function createSelfLog(write: (line: string) => void = (line) => process.stdout.write(line)): SelfLog {
  const host = hostname();
  return (level, msg, fields) => {
    try {
      write(
        `${JSON.stringify({ level, time: Date.now(), pid: process.pid, hostname: host, name: 'telemetry', ...fields, msg })}\n`,
      );
    } catch {
      // stdout closed (EPIPE at shutdown): nothing sensible left to do.
    }
  };
}

export { PINO_LEVEL };
