import {
  context,
  logs,
  metrics,
  propagation,
  SeverityNumber,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver } from '../src/index.js';

// The NodeSDK registers process-wide globals, so it gets a file (a worker) of its own.
describe('NodeSDK exporting over OTLP/gRPC to the receiver', () => {
  let receiver: OtlpReceiver;
  let sdk: NodeSDK;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const url = receiver.grpcEndpoint;
    sdk = new NodeSDK({
      serviceName: 'sdk-node-probe',
      autoDetectResources: false,
      resource: resourceFromAttributes({ 'deployment.environment.name': 'test', 'service.version': '1.2.3' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
      metricReaders: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url }),
          exportIntervalMillis: 200,
        }),
      ],
      logRecordProcessors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url }) })],
    });
    sdk.start();
  });

  afterAll(async () => {
    await sdk?.shutdown();
    for (const api of [trace, metrics, context, propagation, logs]) api.disable();
    await receiver?.stop();
  });

  it('a span arrives with its attributes, kind, status and resource', async () => {
    const tracer = trace.getTracer('probe-tracer', '0.0.1');
    // Explicit times, so the duration the receiver computes can be checked exactly: 25 ms.
    const startTime = Date.now() - 1_000;
    const span = tracer.startSpan('probe.operation', {
      kind: SpanKind.SERVER,
      attributes: { 'probe.text': 'hello', 'probe.count': 42, 'probe.ratio': 0.5, 'probe.flag': true },
      startTime,
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    const { traceId, spanId } = span.spanContext();
    span.end(startTime + 25);

    const [got] = await receiver.waitForSpans({ name: 'probe.operation', traceId });
    expect(got).toMatchObject({
      traceId,
      spanId,
      parentSpanId: '',
      kind: 'SERVER',
      attributes: { 'probe.text': 'hello', 'probe.count': 42, 'probe.ratio': 0.5, 'probe.flag': true },
      resource: {
        'service.name': 'sdk-node-probe',
        'service.version': '1.2.3',
        'deployment.environment.name': 'test',
      },
      scope: { name: 'probe-tracer', version: '0.0.1' },
      status: { code: 'ERROR', message: 'boom' },
    });
    expect(got!.durationMs).toBeCloseTo(25, 3);
    expect(receiver.calls.some((c) => c.signal === 'traces' && c.transport === 'grpc')).toBe(true);
  });

  it('a counter arrives with its value, attributes and resource', async () => {
    const counter = metrics.getMeter('probe-meter').createCounter('probe.jobs', { unit: '{job}' });
    counter.add(3, { outcome: 'ok' });
    counter.add(1, { outcome: 'failed' });

    const metric = await receiver.waitForMetric('probe.jobs', {
      where: (m) => m.dataPoints.length === 2,
    });
    expect(metric).toMatchObject({
      type: 'sum',
      unit: '{job}',
      monotonic: true,
      temporality: 'cumulative',
      resource: { 'service.name': 'sdk-node-probe' },
      scope: { name: 'probe-meter' },
    });
    const byOutcome = Object.fromEntries(metric.dataPoints.map((p) => [p.attributes.outcome, p.value]));
    expect(byOutcome).toEqual({ ok: 3, failed: 1 });
  });

  it('a log record arrives, correlated with the active span', async () => {
    const tracer = trace.getTracer('probe-tracer');
    const span = tracer.startSpan('logging.parent');
    context.with(trace.setSpan(context.active(), span), () => {
      logs.getLogger('probe-logger').emit({
        body: 'job finished',
        severityText: 'INFO',
        severityNumber: SeverityNumber.INFO,
        attributes: { 'job.id': 'j-1' },
      });
    });
    span.end();

    const [log] = await receiver.waitForLogs({ body: 'job finished' });
    expect(log).toMatchObject({
      body: 'job finished',
      severityText: 'INFO',
      severityNumber: 9,
      attributes: { 'job.id': 'j-1' },
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      resource: { 'service.name': 'sdk-node-probe' },
      scope: { name: 'probe-logger' },
    });
  });
});
