import { DiagLogLevel, diag, logs, metrics } from '@opentelemetry/api';
import {
  diagLogLevelFromString,
  setGlobalErrorHandler,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { type IMetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { ExportGuard } from './export-guard.js';
import { createDiagLogger, ExportHealth } from './export-health.js';
import { createInstrumentations } from './instrumentations.js';
import { PinoLogBridge } from './log-bridge.js';
import { createLogExporter, createMetricExporter, createTraceExporter } from './otlp-grpc-exporters.js';
import { baseResource, resourceDetectors } from './resource.js';
import { registerRuntimeMetrics } from './runtime-metrics.js';
import { createSelfLog } from './self-log.js';
import { loadTelemetrySettings } from './settings.js';
import { telemetryState } from './state.js';
import { createViews } from './views.js';

/**
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables (plus
 * TRACE_SAMPLE_RATE), once per process. Returns false, starting nothing, when
 * OTEL_SDK_DISABLED=true: the API then stays a no-op.
 *
 * Must run before the instrumented modules (http, express, ioredis, pg, pino)
 * are loaded, which is what the `register` entry point is for.
 *
 * @throws ConfigError when a variable we parse ourselves is invalid.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): boolean {
  const state = telemetryState();
  if (state.started) return true;
  const settings = loadTelemetrySettings(env);
  if (settings.disabled) return false;

  const log = createSelfLog();
  const health = new ExportHealth(log, settings.endpoint);
  const guard = new ExportGuard(health);
  const exporterOptions = (signal: 'TRACES' | 'METRICS' | 'LOGS') =>
    env.OTEL_EXPORTER_OTLP_TIMEOUT || env[`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`]
      ? {}
      : { timeoutMillis: settings.exporterTimeoutMs };

  // The Prometheus reader is always there: /metrics works without a collector.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const metricReaders: IMetricReader[] = [prometheus];
  if (settings.metrics) {
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: guard.watch(createMetricExporter(exporterOptions('METRICS')), 'metrics'),
        exportIntervalMillis: settings.metricExportIntervalMs,
        exportTimeoutMillis: settings.metricExportTimeoutMs,
      }),
    );
  }
  const spanProcessors = settings.traces
    ? [
        new BatchSpanProcessor({
          exporter: guard.watch(createTraceExporter(exporterOptions('TRACES')), 'traces'),
          ...settings.bsp,
        }),
      ]
    : [];
  const logRecordProcessors = settings.logs
    ? [
        new BatchLogRecordProcessor({
          exporter: guard.watch(createLogExporter(exporterOptions('LOGS')), 'logs'),
          ...settings.blrp,
        }),
      ]
    : [];

  const sdk = new NodeSDK({
    resource: baseResource(),
    resourceDetectors,
    instrumentations: createInstrumentations({
      untracedPorts: state.untracedPorts,
      enabled: settings.instrumentations,
      incomingTraceContext: settings.incomingTraceContext,
    }),
    metricReaders,
    views: createViews(),
    spanProcessors,
    logRecordProcessors,
    ...(settings.sampleRate === undefined
      ? {}
      : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRate) }) }),
    // W3C trace context only unless OTEL_PROPAGATORS asks for more: baggage
    // would travel into every stream entry and webhook for nothing.
    ...(settings.propagatorsFromEnv ? {} : { textMapPropagator: new W3CTraceContextPropagator() }),
  });

  // After the NodeSDK constructor, which installs a console logger when
  // OTEL_LOG_LEVEL is set: ours keeps the one-warning-per-outage rule.
  diag.setLogger(createDiagLogger(health, log), {
    logLevel: diagLogLevelFromString(env.OTEL_LOG_LEVEL) ?? DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });
  setGlobalErrorHandler((error) => {
    health.onDiagnostic('error', error instanceof Error ? error.message : String(error));
  });

  sdk.start();
  registerRuntimeMetrics(metrics.getMeterProvider());
  // Lines reach OTLP only where the pino instrumentation correlates them (it can be disabled).
  const logBridge =
    settings.logs && settings.instrumentations.has('pino')
      ? new PinoLogBridge(logs.getLogger('@media-cluster/telemetry/pino'))
      : undefined;
  state.logBridge = logBridge;

  state.started = true;
  state.collect = () => prometheus.collect();
  state.shutdownSdk = () => {
    logBridge?.flush();
    state.logBridge = undefined;
    return sdk.shutdown().catch((error: unknown) => {
      // During an outage this is the same failure again: let health decide.
      health.onDiagnostic('warn', `shutdown: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  state.abandonExports = () => guard.abandon();
  return true;
}
