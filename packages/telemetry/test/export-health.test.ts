import { ExportResultCode } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { ExportGuard } from '../src/export-guard.js';
import { createDiagLogger, ExportHealth } from '../src/export-health.js';
import type { SelfLogLevel } from '../src/self-log.js';

function recorder() {
  const lines: { level: SelfLogLevel; msg: string; fields?: Record<string, unknown> }[] = [];
  const clock = { now: 1_000_000 };
  const health = new ExportHealth(
    (level, msg, fields) => lines.push({ level, msg, fields }),
    'http://collector:4317',
    () => clock.now,
  );
  return { lines, health, clock };
}
const failed = (message: string) => ({ code: ExportResultCode.FAILED, error: new Error(message) });
const ok = { code: ExportResultCode.SUCCESS };

describe('ExportHealth', () => {
  it('warns once per outage, counts the rest, and says when every signal is back', () => {
    const { lines, health } = recorder();
    health.onResult('traces', failed('14 UNAVAILABLE'));
    health.onResult('logs', failed('14 UNAVAILABLE'));
    for (let i = 0; i < 50; i++) health.onResult('traces', failed('14 UNAVAILABLE'));
    health.onDiagnostic('error', 'Dropped 12 spans because maxQueueSize reached');
    health.onResult('traces', ok);
    expect(health.degraded).toBe(true); // logs still failing
    health.onResult('logs', ok);
    expect(health.degraded).toBe(false);
    expect(lines).toEqual([
      {
        level: 'warn',
        msg: 'telemetry export failing; the service keeps running, data is dropped until it recovers',
        fields: { endpoint: 'http://collector:4317', signal: 'traces', error: '14 UNAVAILABLE' },
      },
      {
        level: 'info',
        msg: 'telemetry export recovered',
        fields: { endpoint: 'http://collector:4317', suppressed: 52 },
      },
    ]);
  });

  it('warns at most once a minute when the collector flaps', () => {
    const { lines, health, clock } = recorder();
    health.onResult('traces', failed('14 UNAVAILABLE'));
    health.onResult('traces', ok);
    clock.now += 10_000;
    health.onResult('traces', failed('14 UNAVAILABLE'));
    health.onResult('traces', ok);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    clock.now += 60_000;
    health.onResult('metrics', failed('4 DEADLINE_EXCEEDED'));
    expect(lines.at(-1)).toMatchObject({ level: 'warn', fields: { signal: 'metrics' } });
  });

  it('treats a processor timeout as the same outage, cleared by the next success', () => {
    const { lines, health } = recorder();
    health.onDiagnostic('error', 'PeriodicExportingMetricReader: metrics export timed out after 500ms');
    health.onResult('metrics', failed('4 DEADLINE_EXCEEDED'));
    expect(lines).toHaveLength(1);
    health.onResult('traces', ok);
    expect(lines.map((l) => l.msg)).toEqual([
      'telemetry export failing; the service keeps running, data is dropped until it recovers',
      // metrics still failing: not recovered yet
    ]);
    health.onResult('metrics', ok);
    expect(lines.at(-1)?.msg).toBe('telemetry export recovered');
  });

  it('logs other diagnostics once a minute per message through the diag logger', () => {
    const { lines, health, clock } = recorder();
    const diag = createDiagLogger(health, () => {});
    diag.warn('Module express has been loaded before @opentelemetry/instrumentation-express');
    diag.warn('Module express has been loaded before @opentelemetry/instrumentation-express');
    diag.error('something else', new Error('why'));
    clock.now += 61_000;
    diag.warn('Module express has been loaded before @opentelemetry/instrumentation-express');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'telemetry: Module express has been loaded before @opentelemetry/instrumentation-express'],
      ['error', 'telemetry: something else why'],
      ['warn', 'telemetry: Module express has been loaded before @opentelemetry/instrumentation-express'],
    ]);
  });
});

describe('ExportGuard', () => {
  it('reports results to health and fails pending and later exports once abandoned', () => {
    const { lines, health } = recorder();
    const guard = new ExportGuard(health);
    const held: ((r: { code: ExportResultCode }) => void)[] = [];
    let closed = 0;
    const exporter = {
      export: (_items: unknown, cb: (r: { code: ExportResultCode }) => void) => held.push(cb),
    };
    const transport = {
      shutdown: () => {
        closed += 1;
      },
    };
    guard.watch({ exporter, transport }, 'traces');
    const results: ExportResultCode[] = [];
    exporter.export([], (r) => results.push(r.code));
    held[0]?.({ code: ExportResultCode.SUCCESS });
    exporter.export([], (r) => results.push(r.code)); // hangs
    expect(results).toEqual([ExportResultCode.SUCCESS]);

    guard.abandon();
    guard.abandon();
    expect(results).toEqual([ExportResultCode.SUCCESS, ExportResultCode.FAILED]);
    expect(closed).toBe(1);
    held[1]?.({ code: ExportResultCode.SUCCESS }); // a late answer is ignored
    exporter.export([], (r) => results.push(r.code));
    expect(results).toEqual([ExportResultCode.SUCCESS, ExportResultCode.FAILED, ExportResultCode.FAILED]);
    expect(held).toHaveLength(2); // the abandoned exporter was not called again
    expect(lines).toEqual([]); // shutdown drops are not an outage
  });
});
