import { ConfigError } from '@media-cluster/config';
import { describe, expect, it } from 'vitest';
import { isSdkDisabled } from '../src/sdk-disabled.js';
import { DEFAULTS, loadTelemetrySettings } from '../src/settings.js';

describe('loadTelemetrySettings', () => {
  it('uses lean bounded defaults when nothing is set', () => {
    const s = loadTelemetrySettings({});
    expect(s).toMatchObject({
      disabled: false,
      sampleRate: undefined,
      traces: true,
      metrics: true,
      logs: true,
      propagatorsFromEnv: false,
      bsp: {
        scheduledDelayMillis: 1_000,
        exportTimeoutMillis: 30_000,
        maxQueueSize: 8_192,
        maxExportBatchSize: 1_024,
      },
      metricExportIntervalMs: DEFAULTS.metricExportIntervalMs,
      exporterTimeoutMs: 5_000,
      endpoint: 'http://localhost:4317',
    });
  });

  it('reads the standard variables and TRACE_SAMPLE_RATE', () => {
    const s = loadTelemetrySettings({
      TRACE_SAMPLE_RATE: '0.25',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_METRIC_EXPORT_TIMEOUT: '5000',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_PROPAGATORS: 'tracecontext,baggage',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
    });
    expect(s.sampleRate).toBe(0.25);
    // A batch larger than the queue is clamped, as is a timeout longer than the interval.
    expect(s.bsp).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 100 });
    expect(s.metricExportTimeoutMs).toBe(1_000);
    expect(s.logs).toBe(false);
    expect(s.propagatorsFromEnv).toBe(true);
    expect(s.endpoint).toBe('http://collector:4317');
  });

  it('lets OTEL_TRACES_SAMPLER win over TRACE_SAMPLE_RATE', () => {
    expect(
      loadTelemetrySettings({ TRACE_SAMPLE_RATE: '0.5', OTEL_TRACES_SAMPLER: 'always_on' }).sampleRate,
    ).toBe(undefined);
  });

  it('reports every bad value at once', () => {
    let error: unknown;
    try {
      loadTelemetrySettings({
        TRACE_SAMPLE_RATE: '1.5',
        OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
        OTEL_TRACES_EXPORTER: 'zipkin',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join('\n');
    expect(issues).toMatch(/TRACE_SAMPLE_RATE: expected a number from 0 to 1/);
    expect(issues).toMatch(/OTEL_BSP_MAX_QUEUE_SIZE/);
    expect(issues).toMatch(/OTEL_TRACES_EXPORTER: expected otlp or none/);
  });

  it('loads every instrumentation unless OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS say otherwise', () => {
    expect([...loadTelemetrySettings({}).instrumentations]).toEqual([
      'http',
      'express',
      'ioredis',
      'pg',
      'pino',
    ]);
    expect([
      ...loadTelemetrySettings({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'express, pino' }).instrumentations,
    ]).toEqual(['http', 'ioredis', 'pg']);
    expect([
      ...loadTelemetrySettings({
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg',
      }).instrumentations,
    ]).toEqual(['http']);
    expect(() => loadTelemetrySettings({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,fs' })).toThrow(
      /OTEL_NODE_DISABLED_INSTRUMENTATIONS: expected a comma-separated list of http, express/,
    );
  });

  it('follows the SDK rule for OTEL_SDK_DISABLED', () => {
    expect(isSdkDisabled({ OTEL_SDK_DISABLED: 'true' })).toBe(true);
    expect(isSdkDisabled({ OTEL_SDK_DISABLED: ' TRUE ' })).toBe(true);
    expect(isSdkDisabled({ OTEL_SDK_DISABLED: '1' })).toBe(false);
    expect(isSdkDisabled({})).toBe(false);
    expect(loadTelemetrySettings({ OTEL_SDK_DISABLED: 'true' }).disabled).toBe(true);
  });
});
