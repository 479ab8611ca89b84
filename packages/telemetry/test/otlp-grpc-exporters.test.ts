import { type OtlpReceiver, startOtlpReceiver } from '@media-cluster/testkit';
import { SeverityNumber } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogExporter,
  createMetricExporter,
  createTraceExporter,
  RECONNECT_OPTIONS,
} from '../src/otlp-grpc-exporters.js';

const resource = resourceFromAttributes({ 'service.name': 'grpc-exporters-probe' });

describe('OTLP/gRPC exporters with a capped reconnect backoff', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('deliver spans, metrics and log records to a collector', async () => {
    const url = receiver.grpcEndpoint;
    const traces = createTraceExporter({ url });
    const tracerProvider = new TracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor({ exporter: traces.exporter })],
    });
    tracerProvider.getTracer('probe').startSpan('probe-span').end();

    const metricsExporter = createMetricExporter({ url });
    const meterProvider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: metricsExporter.exporter,
          exportIntervalMillis: 60_000,
        }),
      ],
    });
    meterProvider.getMeter('probe').createCounter('probe_total').add(3);

    const logsExporter = createLogExporter({ url });
    const loggerProvider = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter: logsExporter.exporter })],
    });
    loggerProvider.getLogger('probe').emit({ severityNumber: SeverityNumber.INFO, body: 'probe line' });

    await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush(), loggerProvider.forceFlush()]);
    const [span] = await receiver.waitForSpans({ name: 'probe-span' });
    expect(span?.resource['service.name']).toBe('grpc-exporters-probe');
    const metric = await receiver.waitForMetric('probe_total');
    expect(metric.dataPoints[0]?.value).toBe(3);
    const [log] = await receiver.waitForLogs({ body: 'probe line' });
    expect(log?.severityNumber).toBe(SeverityNumber.INFO);

    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
  });

  it('open their channel with the capped backoff, compression and user agent', () => {
    const { transport } = createTraceExporter({ url: receiver.grpcEndpoint, compression: 'gzip' as never });
    expect(transport.channelOptions()).toMatchObject({
      ...RECONNECT_OPTIONS,
      'grpc.default_compression_algorithm': 2,
    });
    expect(String(transport.channelOptions()['grpc.primary_user_agent'])).toContain(
      'OTel-OTLP-Exporter-JavaScript',
    );
  });

  it('fail a call still waiting for a connection at once when the transport is shut down', async () => {
    // Nothing listens on port 1: the call waits for a connection until its deadline.
    const { exporter, transport } = createTraceExporter({ url: 'http://127.0.0.1:1', timeoutMillis: 30_000 });
    const spans = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
    provider.getTracer('probe').startSpan('never-delivered').end();
    const started = Date.now();
    const result = new Promise<ExportResult>((resolve) => exporter.export(spans.getFinishedSpans(), resolve));
    await new Promise((resolve) => setImmediate(resolve));
    transport.shutdown();
    expect((await result).code).toBe(ExportResultCode.FAILED);
    expect(Date.now() - started).toBeLessThan(10_000);
    await provider.shutdown();
  });
});
