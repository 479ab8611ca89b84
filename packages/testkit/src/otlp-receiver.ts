import { startGrpcTransport } from './otlp-grpc.js';
import { startHttpTransport } from './otlp-http.js';
import { normalizeLogs, normalizeMetrics, normalizeTraces } from './otlp-normalize.js';
import type {
  ExportHandler,
  ReceivedCall,
  ReceivedLog,
  ReceivedMetric,
  ReceivedSpan,
  ReceiverBehaviour,
} from './otlp-types.js';
import { buildTraceTree, type RenderTraceOptions, renderTraceTree, type TraceNode } from './trace-tree.js';
import { type WaitOptions, waitFor } from './wait-for.js';

export interface OtlpReceiverOptions {
  /** Interface both transports listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** gRPC port; 0 picks a free one. @defaultValue 0 */
  grpcPort?: number;
  /** HTTP port; 0 picks a free one. @defaultValue 0 */
  httpPort?: number;
  /** Behaviour from the first call on. @defaultValue 'ok' */
  behaviour?: ReceiverBehaviour;
}

/** Which spans to wait for: a predicate, or fields that must all match. */
export type SpanFilter =
  | ((span: ReceivedSpan) => boolean)
  | {
      name?: string | RegExp;
      traceId?: string;
      /** How many matching spans to wait for. @defaultValue 1 */
      count?: number;
      where?: (span: ReceivedSpan) => boolean;
    };

/** Which log records to wait for: a predicate, or fields that must all match. */
export type LogFilter =
  | ((log: ReceivedLog) => boolean)
  | {
      /** Matches string bodies. */
      body?: string | RegExp;
      traceId?: string;
      /** How many matching records to wait for. @defaultValue 1 */
      count?: number;
      where?: (log: ReceivedLog) => boolean;
    };

export interface WaitForItemsOptions extends Pick<WaitOptions, 'timeoutMs' | 'intervalMs'> {
  /** How many matches to wait for (a filter object's `count` wins). @defaultValue 1 */
  count?: number;
}

export interface WaitForMetricOptions extends Pick<WaitOptions, 'timeoutMs' | 'intervalMs'> {
  /** Only metrics (exports) for which this holds, e.g. a data point with some attribute. */
  where?: (metric: ReceivedMetric) => boolean;
}

export interface OtlpReceiver {
  /** For the gRPC exporters' `url` / `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://127.0.0.1:<port>`. */
  readonly grpcEndpoint: string;
  /** Base URL for OTLP/HTTP: exporters' `url` needs `/v1/traces` etc. appended (the env var form adds it). */
  readonly httpEndpoint: string;
  /** Everything recorded so far, in arrival order (the arrays are live and cleared in place by reset()). */
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLog[];
  /** Every export call, whatever the answer (to prove an exporter tried while 'hang'/'unavailable'). */
  readonly calls: ReceivedCall[];
  readonly behaviour: ReceiverBehaviour;
  /** Resolves with all matching spans once at least `count` have arrived; the error lists what did arrive. */
  waitForSpans(filter: SpanFilter, options?: WaitForItemsOptions): Promise<ReceivedSpan[]>;
  /** Resolves with the most recently received metric of that name (cumulative exports repeat it). */
  waitForMetric(name: string, options?: WaitForMetricOptions): Promise<ReceivedMetric>;
  waitForLogs(filter: LogFilter, options?: WaitForItemsOptions): Promise<ReceivedLog[]>;
  /** The spans of one trace, nested by parent; roots are spans whose parent is not in the trace. */
  traceTree(traceId: string): TraceNode[];
  /** traceTree() as indented text, for assertion messages. */
  renderTrace(traceId: string, options?: RenderTraceOptions): string;
  /** Env vars pointing an SDK (e.g. a child process) at this receiver. @defaultValue protocol 'grpc' */
  exporterEnv(protocol?: 'grpc' | 'http/protobuf' | 'http/json'): Record<string, string>;
  /** Forgets everything recorded (spans, metrics, logs, calls). */
  reset(): void;
  setBehaviour(behaviour: ReceiverBehaviour): void;
  /** Closes both ports, dropping hung calls. Safe to call twice. */
  stop(): Promise<void>;
}

function matchText(pattern: string | RegExp | undefined, value: unknown): boolean {
  if (pattern === undefined) return true;
  if (typeof value !== 'string') return false;
  return typeof pattern === 'string' ? pattern === value : pattern.test(value);
}

function spanMatcher(filter: SpanFilter): (span: ReceivedSpan) => boolean {
  if (typeof filter === 'function') return filter;
  return (s) =>
    matchText(filter.name, s.name) &&
    (filter.traceId === undefined || s.traceId === filter.traceId) &&
    (filter.where?.(s) ?? true);
}

function logMatcher(filter: LogFilter): (log: ReceivedLog) => boolean {
  if (typeof filter === 'function') return filter;
  return (l) =>
    matchText(filter.body, l.body) &&
    (filter.traceId === undefined || l.traceId === filter.traceId) &&
    (filter.where?.(l) ?? true);
}

function describeFilter(filter: SpanFilter | LogFilter): string {
  if (typeof filter === 'function') return 'a predicate';
  const { where, ...fields } = filter;
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v instanceof RegExp ? String(v) : JSON.stringify(v)}`)
    .join(', ');
  return `{${text}${where ? `${text ? ', ' : ''}where: <fn>` : ''}}`;
}

/** Polls `probe`; on timeout throws with `received()` appended so failures show what did arrive. */
async function waitWithReport<T>(
  probe: () => T | undefined,
  what: string,
  received: () => string,
  options: Pick<WaitOptions, 'timeoutMs' | 'intervalMs'>,
): Promise<T> {
  try {
    return (await waitFor(probe, { intervalMs: 20, ...options, what })) as T;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nReceived so far: ${received()}`, { cause: error });
  }
}

/**
 * An in-process OTLP receiver (gRPC and HTTP, protobuf and JSON) that records
 * spans, metrics and logs as plain objects, so tests can prove what really
 * leaves a process over the wire. `setBehaviour` simulates a stuck ('hang')
 * or refusing ('unavailable') collector.
 */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const logs: ReceivedLog[] = [];
  const calls: ReceivedCall[] = [];
  let behaviour: ReceiverBehaviour = options.behaviour ?? 'ok';

  const handle: ExportHandler = (signal, transport, decode) => {
    let batch: { spans: ReceivedSpan[]; metrics: ReceivedMetric[]; logs: ReceivedLog[] };
    try {
      const request = decode();
      batch = {
        spans: signal === 'traces' ? normalizeTraces(request) : [],
        metrics: signal === 'metrics' ? normalizeMetrics(request) : [],
        logs: signal === 'logs' ? normalizeLogs(request) : [],
      };
    } catch (error) {
      calls.push({ signal, transport, outcome: 'invalid', items: 0 });
      return { outcome: 'invalid', reason: `cannot decode ${signal} request: ${(error as Error).message}` };
    }
    const items =
      batch.spans.length + batch.logs.length + batch.metrics.reduce((n, m) => n + m.dataPoints.length, 0);
    const outcome = behaviour;
    calls.push({ signal, transport, outcome, items });
    if (outcome === 'ok') {
      spans.push(...batch.spans);
      metrics.push(...batch.metrics);
      logs.push(...batch.logs);
    }
    return { outcome };
  };

  const grpc = await startGrpcTransport(host, options.grpcPort ?? 0, handle);
  let http: Awaited<ReturnType<typeof startHttpTransport>>;
  try {
    http = await startHttpTransport(host, options.httpPort ?? 0, handle);
  } catch (error) {
    grpc.close();
    throw error;
  }
  const grpcEndpoint = `http://${host}:${grpc.port}`;
  const httpEndpoint = `http://${host}:${http.port}`;
  let stopping: Promise<void> | undefined;

  const spanSummary = () =>
    spans.length === 0
      ? 'no spans'
      : spans.map((s) => `${s.name} (trace ${s.traceId.slice(0, 8)})`).join(', ');

  return {
    grpcEndpoint,
    httpEndpoint,
    spans,
    metrics,
    logs,
    calls,
    get behaviour() {
      return behaviour;
    },
    waitForSpans(filter, waitOptions = {}) {
      const match = spanMatcher(filter);
      const count = (typeof filter === 'object' ? filter.count : undefined) ?? waitOptions.count ?? 1;
      return waitWithReport(
        () => {
          const found = spans.filter(match);
          return found.length >= count ? found : undefined;
        },
        `${count} span(s) matching ${describeFilter(filter)}`,
        spanSummary,
        waitOptions,
      );
    },
    waitForMetric(name, waitOptions = {}) {
      return waitWithReport(
        () => metrics.findLast((m) => m.name === name && (waitOptions.where?.(m) ?? true)),
        `metric "${name}"${waitOptions.where ? ' matching where()' : ''}`,
        () => [...new Set(metrics.map((m) => m.name))].join(', ') || 'no metrics',
        waitOptions,
      );
    },
    waitForLogs(filter, waitOptions = {}) {
      const match = logMatcher(filter);
      const count = (typeof filter === 'object' ? filter.count : undefined) ?? waitOptions.count ?? 1;
      return waitWithReport(
        () => {
          const found = logs.filter(match);
          return found.length >= count ? found : undefined;
        },
        `${count} log record(s) matching ${describeFilter(filter)}`,
        () => logs.map((l) => JSON.stringify(l.body)).join(', ') || 'no log records',
        waitOptions,
      );
    },
    traceTree: (traceId) => buildTraceTree(spans, traceId),
    renderTrace: (traceId, renderOptions) => renderTraceTree(buildTraceTree(spans, traceId), renderOptions),
    exporterEnv(protocol = 'grpc') {
      return {
        OTEL_EXPORTER_OTLP_ENDPOINT: protocol === 'grpc' ? grpcEndpoint : httpEndpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      };
    },
    reset() {
      spans.length = 0;
      metrics.length = 0;
      logs.length = 0;
      calls.length = 0;
    },
    setBehaviour(next) {
      behaviour = next;
    },
    stop() {
      stopping ??= (async () => {
        grpc.close();
        await http.close();
      })();
      return stopping;
    },
  };
}
