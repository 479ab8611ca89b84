import { Writable } from 'node:stream';
import { waitFor } from '@media-cluster/testkit';
import { SeverityNumber } from '@opentelemetry/api';
import { LoggerProvider, type LogRecordProcessor, type ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { PinoLogBridge } from '../src/log-bridge.js';
import { telemetryState } from '../src/state.js';

/** An SDK logger whose records are kept as they are emitted (the SDK's own exporters run async). */
function sdkLogger() {
  const records: ReadWriteLogRecord[] = [];
  const processor: LogRecordProcessor = {
    onEmit: (record) => {
      records.push(record);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new LoggerProvider({ processors: [processor] });
  const exporter = { getFinishedLogRecords: () => records };
  return { exporter, logger: provider.getLogger('test') };
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

afterEach(() => {
  telemetryState().logBridge = undefined;
});

describe('PinoLogBridge', () => {
  it('turns pending lines into log records with the trace context, severity and attributes of each line', () => {
    const { exporter, logger } = sdkLogger();
    const bridge = new PinoLogBridge(logger, { intervalMs: 60_000 });
    const line = {
      level: 'info',
      time: 1_700_000_000_123,
      pid: 42,
      hostname: 'h',
      name: 'api',
      request_id: 'r1',
      status: 200,
      trace_id: TRACE_ID,
      span_id: SPAN_ID,
      trace_flags: '01',
      msg: 'http request',
    };
    bridge.push(`${JSON.stringify(line)}\n`, 30);
    bridge.push(
      `${JSON.stringify({ level: 'error', time: 5, err: { type: 'Error', message: 'boom' }, msg: 'failed' })}\n`,
      50,
    );
    // Nothing is converted inside the logging call.
    expect(exporter.getFinishedLogRecords()).toHaveLength(0);

    bridge.flush();
    const [info, error] = exporter.getFinishedLogRecords();
    expect(info?.body).toBe('http request');
    expect(info?.severityNumber).toBe(SeverityNumber.INFO);
    expect(info?.severityText).toBe('info');
    expect(info?.hrTime).toEqual([1_700_000_000, 123_000_000]);
    expect(info?.spanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    // Time, level, message, pid, hostname and the trace fields are not repeated as attributes.
    expect(info?.attributes).toEqual({ name: 'api', request_id: 'r1', status: 200 });

    expect(error?.severityNumber).toBe(SeverityNumber.ERROR);
    expect(error?.spanContext).toBeUndefined();
    expect(error?.attributes).toMatchObject({ 'exception.type': 'Error', 'exception.message': 'boom' });
  });

  it('converts on its timer, or at once when too many lines wait, and skips what is not JSON', async () => {
    const { exporter, logger } = sdkLogger();
    const bridge = new PinoLogBridge(logger, { intervalMs: 10, maxPending: 3 });
    bridge.push('{"msg":"a"}\n', 30);
    bridge.push('not json\n', 30);
    expect(exporter.getFinishedLogRecords()).toHaveLength(0);
    bridge.push('{"msg":"c"}\n', 30);
    expect(exporter.getFinishedLogRecords().map((r) => r.body)).toEqual(['a', 'c']);

    bridge.push('{"msg":"d"}\n', 40);
    await waitFor(() => exporter.getFinishedLogRecords().length === 3, {
      intervalMs: 5,
      what: 'the timer flush',
    });
    expect(exporter.getFinishedLogRecords()[2]?.severityText).toBe('warn');
  });
});

describe('createLogger with a running SDK', () => {
  it('writes every line to its destination unchanged and hands the same line and level to the bridge', () => {
    const pushed: [string, number][] = [];
    telemetryState().logBridge = {
      push: (line: string, level: number) => pushed.push([line, level]),
    } as never;
    const written: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        written.push(chunk.toString());
        callback();
      },
    });
    const logger = createLogger({ name: 'api', level: 'info', destination });
    logger.child({ request_id: 'r2' }).warn({ status: 500 }, 'slow');
    logger.debug('hidden');

    expect(written).toHaveLength(1);
    expect(pushed).toEqual([[written[0], 40]]);
    expect(JSON.parse(written[0] as string)).toMatchObject({ level: 'warn', request_id: 'r2', status: 500 });
  });
});
