import {
  context,
  type Attributes as LogAttributes,
  type Logger as OtelLogger,
  ROOT_CONTEXT,
  SeverityNumber,
  type TraceFlags,
  trace,
} from '@opentelemetry/api';

/** pino's numeric levels and the OTel severities they map to. */
const SEVERITY: Readonly<Record<number, SeverityNumber>> = {
  10: SeverityNumber.TRACE,
  20: SeverityNumber.DEBUG,
  30: SeverityNumber.INFO,
  40: SeverityNumber.WARN,
  50: SeverityNumber.ERROR,
  60: SeverityNumber.FATAL,
};
const LABEL: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * Fields of a pino line that are not log record attributes: they become the
 * record's timestamp, severity, body, exception and trace context, or repeat
 * the resource (`host.name`, `process.pid`).
 */
const NOT_ATTRIBUTES = new Set([
  'time',
  'level',
  'msg',
  'err',
  'hostname',
  'pid',
  'trace_id',
  'span_id',
  'trace_flags',
]);
const EVENT_NAME = 'otel.event.name';
const HEX_ID = /^[0-9a-f]+$/;

export interface LogBridgeOptions {
  /** Convert what is pending at least this often. @defaultValue 200 ms */
  intervalMs?: number;
  /** Convert at once when this many lines wait. @defaultValue 1_024 */
  maxPending?: number;
}

/**
 * Sends pino lines to the OpenTelemetry Logs API in batches, off the request
 * path. A logger's write costs two array pushes (the serialized line and its
 * level); every `intervalMs` the pending lines are parsed and emitted as log
 * records, with the trace context the line carries (`trace_id`, `span_id`,
 * `trace_flags` from the pino instrumentation's correlation) rather than the
 * one active at conversion time. The records then go through the SDK's batch
 * processor and OTLP exporter like any other.
 *
 * Replaces the pino instrumentation's log sending, which runs a multistream,
 * a Node `Writable` and an SDK log record per line inside the request.
 */
export class PinoLogBridge {
  private lines: string[] = [];
  private levels: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly maxPending: number;

  constructor(
    private readonly logger: OtelLogger,
    options: LogBridgeOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 200;
    this.maxPending = options.maxPending ?? 1_024;
  }

  /** Takes one serialized pino line (with its trailing newline) at `level`. */
  push(line: string, level: number): void {
    this.lines.push(line);
    this.levels.push(level);
    if (this.lines.length >= this.maxPending) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Emits every pending line now (before the SDK flushes at shutdown). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const lines = this.lines;
    const levels = this.levels;
    if (lines.length === 0) return;
    this.lines = [];
    this.levels = [];
    // Whatever context the caller runs in, the records carry only their own.
    context.with(ROOT_CONTEXT, () => {
      for (let i = 0; i < lines.length; i++) this.emit(lines[i] as string, levels[i] as number);
    });
  }

  private emit(line: string, level: number): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // pino writes valid JSON; a custom serializer that does not is not worth a crash.
      return;
    }
    if (record === null || typeof record !== 'object') return;
    const attributes: LogAttributes = {};
    for (const key in record) {
      if (!NOT_ATTRIBUTES.has(key) && key !== EVENT_NAME)
        attributes[key] = record[key] as LogAttributes[string];
    }
    const time = typeof record.time === 'number' ? record.time : Date.now();
    const eventName = record[EVENT_NAME];
    this.logger.emit({
      timestamp: time,
      observedTimestamp: time,
      severityNumber: SEVERITY[level] ?? SeverityNumber.UNSPECIFIED,
      severityText: LABEL[level] ?? (typeof record.level === 'string' ? record.level : String(level)),
      body: record.msg as string | undefined,
      attributes,
      ...(record.err === undefined ? {} : { exception: exceptionOf(record.err) }),
      ...(typeof eventName === 'string' ? { eventName } : {}),
      context: recordContext(record),
    });
  }
}

function exceptionOf(err: unknown): unknown {
  if (!err || typeof err !== 'object' || Array.isArray(err)) return err;
  const e = err as Record<string, unknown>;
  // pino's error serializer writes `type`; the SDK reads `name`.
  if (typeof e.type === 'string' && typeof e.name !== 'string') e.name = e.type;
  return e;
}

function recordContext(record: Record<string, unknown>) {
  const traceId = record.trace_id;
  const spanId = record.span_id;
  if (
    typeof traceId !== 'string' ||
    typeof spanId !== 'string' ||
    traceId.length !== 32 ||
    spanId.length !== 16 ||
    !HEX_ID.test(traceId) ||
    !HEX_ID.test(spanId)
  ) {
    return ROOT_CONTEXT;
  }
  const flags = typeof record.trace_flags === 'string' ? Number.parseInt(record.trace_flags, 16) : 0;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId,
    traceFlags: (Number.isNaN(flags) ? 0 : flags) as TraceFlags,
    isRemote: false,
  });
}
