import { envInt, envList, loadConfig } from '@media-cluster/config';
import { z } from 'zod';
import { isSdkDisabled } from './sdk-disabled.js';

/**
 * Defaults for the SDK knobs the standard `OTEL_*` variables override. Chosen
 * for a busy API on 2 cores: batches leave every second (nothing waits long
 * in memory), are big enough that export work stays off the request path, and
 * the queues are bounded so a dead collector costs at most a few MB.
 */
export const DEFAULTS = {
  bspScheduleDelayMs: 1_000, // 1 s
  bspExportTimeoutMs: 30_000, // 30 s: above the OTLP exporter's own timeout, so that one reports first
  bspMaxQueueSize: 8_192, // spans
  bspMaxExportBatchSize: 1_024, // spans
  blrpScheduleDelayMs: 1_000, // 1 s
  blrpExportTimeoutMs: 30_000, // 30 s
  blrpMaxQueueSize: 8_192, // log records
  blrpMaxExportBatchSize: 1_024, // log records
  metricExportIntervalMs: 15_000, // 15 s: dashboards move at the speed of a Prometheus scrape
  metricExportTimeoutMs: 10_000, // 10 s
  shutdownTimeoutMs: 5_000, // 5 s
  // 5 s per OTLP call (the SDK's default is 10 s): a hung collector then
  // holds a stopping process no longer than the shutdown bound.
  exporterTimeoutMs: 5_000,
} as const;

const exporter = z.enum(['otlp', 'none'], { error: 'expected otlp or none' });

/** The instrumentations this package can load, by the short names OTEL_NODE_*_INSTRUMENTATIONS use. */
export const INSTRUMENTATION_NAMES = ['http', 'express', 'ioredis', 'pg', 'pino'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

const instrumentationList = () =>
  envList().refine((names) => names.every((n) => (INSTRUMENTATION_NAMES as readonly string[]).includes(n)), {
    error: `expected a comma-separated list of ${INSTRUMENTATION_NAMES.join(', ')}`,
  });
const optionalInt = (min: number) => envInt(min).optional();

const schema = z.object({
  OTEL_SDK_DISABLED: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.string().optional(),
  TRACE_SAMPLE_RATE: z.coerce
    .number({ error: 'expected a number from 0 to 1' })
    .min(0, { error: 'expected a number from 0 to 1' })
    .max(1, { error: 'expected a number from 0 to 1' })
    .optional(),
  OTEL_TRACES_EXPORTER: exporter.default('otlp'),
  OTEL_METRICS_EXPORTER: exporter.default('otlp'),
  OTEL_LOGS_EXPORTER: exporter.default('otlp'),
  OTEL_PROPAGATORS: z.string().optional(),
  OTEL_BSP_SCHEDULE_DELAY: optionalInt(1),
  OTEL_BSP_EXPORT_TIMEOUT: optionalInt(1),
  OTEL_BSP_MAX_QUEUE_SIZE: optionalInt(1),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: optionalInt(1),
  OTEL_BLRP_SCHEDULE_DELAY: optionalInt(1),
  OTEL_BLRP_EXPORT_TIMEOUT: optionalInt(1),
  OTEL_BLRP_MAX_QUEUE_SIZE: optionalInt(1),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: optionalInt(1),
  OTEL_METRIC_EXPORT_INTERVAL: optionalInt(1),
  OTEL_METRIC_EXPORT_TIMEOUT: optionalInt(1),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  INCOMING_TRACE_CONTEXT: z.enum(['parent', 'link'], { error: 'expected parent or link' }).default('parent'),
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: instrumentationList().optional(),
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: instrumentationList().optional(),
});

export interface TelemetrySettings {
  disabled: boolean;
  /** Root sampling ratio from TRACE_SAMPLE_RATE when OTEL_TRACES_SAMPLER is unset; else the SDK reads the OTEL_ variables. */
  sampleRate: number | undefined;
  traces: boolean;
  metrics: boolean;
  logs: boolean;
  /** OTEL_PROPAGATORS was given (else: W3C trace context only, no baggage). */
  propagatorsFromEnv: boolean;
  bsp: {
    scheduledDelayMillis: number;
    exportTimeoutMillis: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
  };
  blrp: {
    scheduledDelayMillis: number;
    exportTimeoutMillis: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
  };
  metricExportIntervalMs: number;
  metricExportTimeoutMs: number;
  /** Per OTLP call, unless OTEL_EXPORTER_OTLP_(signal_)TIMEOUT says otherwise. */
  exporterTimeoutMs: number;
  /** For messages only: where the exporters send. */
  endpoint: string;
  /**
   * Instrumentations to load: all of them, less OTEL_NODE_DISABLED_INSTRUMENTATIONS, or only
   * OTEL_NODE_ENABLED_INSTRUMENTATIONS (the variables of auto-instrumentations-node, same names).
   */
  instrumentations: ReadonlySet<InstrumentationName>;
  /**
   * What an incoming HTTP request's trace context (`traceparent`, ...) becomes: the
   * server span's `parent` (one trace with the caller), or only a `link` from a new
   * trace, sampled by this service's own sampler, for a public edge whose callers
   * are not trusted to pick trace ids or force sampling (INCOMING_TRACE_CONTEXT).
   */
  incomingTraceContext: 'parent' | 'link';
}

/**
 * Reads the telemetry settings once at start-up. Values we parse ourselves
 * are validated and a bad one throws a ConfigError listing every bad key;
 * the rest (endpoints, headers, sampler, resource attributes) is left to the
 * SDK, which reads the standard variables itself.
 */
export function loadTelemetrySettings(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const c = loadConfig(schema, env);
  const bspQueue = c.OTEL_BSP_MAX_QUEUE_SIZE ?? DEFAULTS.bspMaxQueueSize;
  const blrpQueue = c.OTEL_BLRP_MAX_QUEUE_SIZE ?? DEFAULTS.blrpMaxQueueSize;
  const interval = c.OTEL_METRIC_EXPORT_INTERVAL ?? DEFAULTS.metricExportIntervalMs;
  return {
    disabled: isSdkDisabled(env),
    sampleRate: c.OTEL_TRACES_SAMPLER === undefined ? c.TRACE_SAMPLE_RATE : undefined,
    traces: c.OTEL_TRACES_EXPORTER === 'otlp',
    metrics: c.OTEL_METRICS_EXPORTER === 'otlp',
    logs: c.OTEL_LOGS_EXPORTER === 'otlp',
    propagatorsFromEnv: c.OTEL_PROPAGATORS !== undefined,
    bsp: {
      scheduledDelayMillis: c.OTEL_BSP_SCHEDULE_DELAY ?? DEFAULTS.bspScheduleDelayMs,
      exportTimeoutMillis: c.OTEL_BSP_EXPORT_TIMEOUT ?? DEFAULTS.bspExportTimeoutMs,
      maxQueueSize: bspQueue,
      maxExportBatchSize: Math.min(
        c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ?? DEFAULTS.bspMaxExportBatchSize,
        bspQueue,
      ),
    },
    blrp: {
      scheduledDelayMillis: c.OTEL_BLRP_SCHEDULE_DELAY ?? DEFAULTS.blrpScheduleDelayMs,
      exportTimeoutMillis: c.OTEL_BLRP_EXPORT_TIMEOUT ?? DEFAULTS.blrpExportTimeoutMs,
      maxQueueSize: blrpQueue,
      maxExportBatchSize: Math.min(
        c.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE ?? DEFAULTS.blrpMaxExportBatchSize,
        blrpQueue,
      ),
    },
    metricExportIntervalMs: interval,
    // The SDK requires timeout <= interval.
    metricExportTimeoutMs: Math.min(c.OTEL_METRIC_EXPORT_TIMEOUT ?? DEFAULTS.metricExportTimeoutMs, interval),
    exporterTimeoutMs: DEFAULTS.exporterTimeoutMs,
    endpoint:
      c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? c.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4317',
    incomingTraceContext: c.INCOMING_TRACE_CONTEXT,
    instrumentations: new Set(
      ((c.OTEL_NODE_ENABLED_INSTRUMENTATIONS ?? INSTRUMENTATION_NAMES) as InstrumentationName[]).filter(
        (name) => !c.OTEL_NODE_DISABLED_INSTRUMENTATIONS?.includes(name),
      ),
    ),
  };
}
