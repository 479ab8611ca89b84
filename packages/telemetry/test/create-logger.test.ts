import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, TelemetryError } from '../src/index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      callback();
    },
  });
  return { lines, raw, destination };
}

const savedLevel = process.env.LOG_LEVEL;
afterEach(() => {
  if (savedLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = savedLevel;
});

describe('createLogger', () => {
  it("writes what docs/runbook.md greps for: every `grep '...'` there matches a line the services write", () => {
    const runbook = readFileSync(new URL('../../../docs/runbook.md', import.meta.url), 'utf8');
    const patterns = [...runbook.matchAll(/grep '([^']+)'/g)].map((m) => m[1]!);
    expect(patterns.length).toBeGreaterThanOrEqual(2);
    const { raw, destination } = capture();
    const logger = createLogger({ name: 'worker', level: 'info', destination });
    // The lines those greps are after: a 5xx or other error, and a failed job attempt.
    logger.error({ err: new Error('boom') }, 'request failed');
    logger.warn({ event: 'job_failed', job_id: 'j1', err: new Error('boom') }, 'job attempt failed');
    for (const pattern of patterns) {
      expect(
        raw.some((line) => line.includes(pattern)),
        `runbook greps '${pattern}', which no line contains`,
      ).toBe(true);
    }
  });

  it('writes JSON lines with the name, a level label, pid, hostname and base fields', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'api', level: 'info', base: { service: 'api' }, destination });
    logger.info({ job_id: 'j1' }, 'job queued');
    logger.debug('hidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'api',
      service: 'api',
      job_id: 'j1',
      msg: 'job queued',
    });
    expect(lines[0]?.pid).toBe(process.pid);
    expect(typeof lines[0]?.hostname).toBe('string');
    expect(typeof lines[0]?.time).toBe('number');
    // Without the SDK there is no span, so no trace fields.
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('takes the level from LOG_LEVEL unless given, and rejects unknown levels', () => {
    process.env.LOG_LEVEL = 'warn';
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'worker', destination });
    logger.info('no');
    logger.warn('yes');
    expect(lines.map((l) => l.msg)).toEqual(['yes']);
    expect(createLogger({ name: 'w', level: 'debug', destination }).level).toBe('debug');

    process.env.LOG_LEVEL = 'loud';
    expect(() => createLogger({ name: 'w', destination })).toThrow(TelemetryError);
    expect(() => createLogger({ name: 'w', destination })).toThrow(
      /LOG_LEVEL must be one of .* \(got "loud"\)/,
    );
  });

  it('never writes credentials it is handed', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'api', level: 'info', destination });
    logger.info(
      { req: { headers: { authorization: 'Bearer k', cookie: 'c=1', accept: '*/*' } }, token: 't' },
      'in',
    );
    expect(JSON.stringify(lines[0])).not.toMatch(/Bearer k|c=1|"t"/);
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: '[redacted]', accept: '*/*' } } });
  });
});
