import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver, waitFor } from '../src/index.js';

type ExporterFactory = (receiver: OtlpReceiver, timeoutMillis?: number) => SpanExporter;

const TRACE_EXPORTERS: [string, ExporterFactory][] = [
  ['OTLP/gRPC', (r, timeoutMillis) => new GrpcTraceExporter({ url: r.grpcEndpoint, timeoutMillis })],
  [
    'OTLP/HTTP JSON',
    (r, timeoutMillis) => new HttpJsonTraceExporter({ url: `${r.httpEndpoint}/v1/traces`, timeoutMillis }),
  ],
  [
    'OTLP/HTTP protobuf',
    (r, timeoutMillis) => new HttpProtoTraceExporter({ url: `${r.httpEndpoint}/v1/traces`, timeoutMillis }),
  ],
];

const resource = resourceFromAttributes({ 'service.name': 'receiver-probe', 'service.instance.id': 'i-1' });

/** Finished spans from a throwaway provider, to hand to an exporter directly. */
function makeSpans(name: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  provider.getTracer('probe').startSpan(name).end();
  return memory.getFinishedSpans();
}

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe('startOtlpReceiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => {
    receiver.setBehaviour('ok');
    receiver.reset();
  });
  afterAll(async () => {
    await receiver.stop();
    await receiver.stop(); // safe twice
  });

  it.each(TRACE_EXPORTERS)(
    '%s: spans arrive with attributes, events, links, status and resource',
    async (_, make) => {
      const provider = new TracerProvider({
        resource,
        spanProcessors: [new SimpleSpanProcessor({ exporter: make(receiver) })],
      });
      const tracer = provider.getTracer('probe-scope', '9.9.9');
      const linked = tracer.startSpan('linked');
      linked.end();
      const parent = tracer.startSpan('parent', {
        kind: SpanKind.PRODUCER,
        attributes: { s: 'text', i: 7, d: 1.25, b: false, list: ['a', 'b'], nums: [1, 2] },
        links: [{ context: linked.spanContext(), attributes: { why: 'batch' } }],
      });
      parent.addEvent('enqueued', { 'queue.depth': 3 });
      const child = tracer.startSpan(
        'child',
        { kind: SpanKind.CONSUMER },
        trace.setSpan(ROOT_CONTEXT, parent),
      );
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'nope' });
      child.end();
      parent.end();
      await provider.forceFlush();

      const traceId = parent.spanContext().traceId;
      const [got] = await receiver.waitForSpans({ name: 'parent', traceId });
      expect(got).toMatchObject({
        spanId: parent.spanContext().spanId,
        parentSpanId: '',
        kind: 'PRODUCER',
        attributes: { s: 'text', i: 7, d: 1.25, b: false, list: ['a', 'b'], nums: [1, 2] },
        resource: { 'service.name': 'receiver-probe', 'service.instance.id': 'i-1' },
        scope: { name: 'probe-scope', version: '9.9.9' },
        events: [{ name: 'enqueued', attributes: { 'queue.depth': 3 } }],
        links: [
          {
            traceId: linked.spanContext().traceId,
            spanId: linked.spanContext().spanId,
            attributes: { why: 'batch' },
          },
        ],
        status: { code: 'UNSET', message: '' },
      });
      expect(BigInt(got!.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(got!.startTimeUnixNano));
      const [kid] = await receiver.waitForSpans({ name: 'child', traceId });
      expect(kid).toMatchObject({
        parentSpanId: parent.spanContext().spanId,
        kind: 'CONSUMER',
        status: { code: 'ERROR', message: 'nope' },
      });
      await provider.shutdown();
    },
  );

  it('traceTree nests children under parents; spans with an absent parent are roots', async () => {
    const provider = new TracerProvider({
      resource,
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: new GrpcTraceExporter({ url: receiver.grpcEndpoint }) }),
      ],
    });
    const tracer = provider.getTracer('tree');
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms);
    const under = (span: ReturnType<typeof tracer.startSpan>) => trace.setSpan(ROOT_CONTEXT, span);

    const root = tracer.startSpan('request', { kind: SpanKind.SERVER, startTime: at(0) });
    const traceId = root.spanContext().traceId;
    const b = tracer.startSpan('b', { kind: SpanKind.PRODUCER, startTime: at(30) }, under(root));
    const a = tracer.startSpan('a', { startTime: at(10) }, under(root));
    const a1 = tracer.startSpan(
      'a.1',
      { kind: SpanKind.CLIENT, startTime: at(20), attributes: { n: 1 } },
      under(a),
    );
    // A remote parent that never reaches the receiver: its child becomes a second root.
    const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'ffffffffffffffff', traceFlags: 1 });
    const orphan = tracer.startSpan('orphan', { kind: SpanKind.CONSUMER, startTime: at(40) }, remote);
    const other = tracer.startSpan('other-trace', { startTime: at(5) });
    b.setStatus({ code: SpanStatusCode.ERROR, message: 'bad' });
    for (const span of [a1, a, b, root, orphan, other]) span.end(at(50));
    await provider.forceFlush();

    await receiver.waitForSpans({ traceId, count: 5 });
    const tree = receiver.traceTree(traceId);
    expect(tree.map((n) => n.span.name)).toEqual(['request', 'orphan']);
    expect(tree[0]!.children.map((n) => n.span.name)).toEqual(['a', 'b']);
    expect(tree[0]!.children[0]!.children[0]!.span.spanId).toBe(a1.spanContext().spanId);
    expect(receiver.renderTrace(traceId, { attributes: ['n'] })).toBe(
      [
        'request [SERVER]',
        '  a [INTERNAL]',
        '    a.1 [CLIENT] n=1',
        '  b [PRODUCER] ERROR: bad',
        'orphan [CONSUMER]',
      ].join('\n'),
    );
    expect(receiver.renderTrace(traceId, { durations: true })).toContain('request [SERVER] 50.0ms');
    expect(receiver.traceTree('0'.repeat(32))).toEqual([]);
    await provider.shutdown();
  });

  it('metrics arrive over gRPC: counter, up-down counter, histogram buckets and gauge', async () => {
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: receiver.grpcEndpoint }),
      exportIntervalMillis: 60_000, // exported by forceFlush below, not by the timer
    });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const meter = provider.getMeter('metric-probe');
    meter.createCounter('probe.requests').add(2, { route: '/a' });
    meter.createUpDownCounter('probe.inflight').add(-1);
    const histogram = meter.createHistogram('probe.latency', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 1, 10] },
    });
    for (const v of [0.05, 0.5, 5, 50]) histogram.record(v, { stage: 'embed' });
    meter
      .createObservableGauge('probe.depth')
      .addCallback((result) => result.observe(17, { stream: 'jobs' }));
    await provider.forceFlush();

    const counter = await receiver.waitForMetric('probe.requests');
    expect(counter).toMatchObject({
      type: 'sum',
      monotonic: true,
      resource: { 'service.name': 'receiver-probe' },
    });
    expect(counter.dataPoints).toMatchObject([{ value: 2, attributes: { route: '/a' } }]);
    expect(await receiver.waitForMetric('probe.inflight')).toMatchObject({
      type: 'sum',
      monotonic: false,
      dataPoints: [{ value: -1 }],
    });
    const latency = await receiver.waitForMetric('probe.latency');
    expect(latency).toMatchObject({ type: 'histogram', unit: 's', temporality: 'cumulative' });
    expect(latency.dataPoints[0]).toMatchObject({
      attributes: { stage: 'embed' },
      count: 4,
      min: 0.05,
      max: 50,
      explicitBounds: [0.1, 1, 10],
      bucketCounts: [1, 1, 1, 1],
    });
    expect(latency.dataPoints[0]!.sum).toBeCloseTo(55.55);
    expect(await receiver.waitForMetric('probe.depth')).toMatchObject({
      type: 'gauge',
      dataPoints: [{ value: 17, attributes: { stream: 'jobs' } }],
    });
    await provider.shutdown();
  });

  it('log records arrive as OTLP/HTTP JSON, with structured bodies', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c';
    const payload = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-logger' } }] },
          scopeLogs: [
            {
              scope: { name: 'pino' },
              logRecords: [
                {
                  timeUnixNano: '1700000000000000000',
                  severityNumber: 17,
                  severityText: 'ERROR',
                  traceId,
                  spanId: 'eee19b7ec3c1b174',
                  body: {
                    kvlistValue: {
                      values: [
                        { key: 'msg', value: { stringValue: 'job failed' } },
                        { key: 'attempt', value: { intValue: '3' } },
                      ],
                    },
                  },
                  attributes: [{ key: 'job.id', value: { stringValue: 'j-9' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${receiver.httpEndpoint}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(res.status).toBe(200);
    const [log] = await receiver.waitForLogs({ traceId });
    expect(log).toEqual({
      body: { msg: 'job failed', attempt: 3 },
      severityText: 'ERROR',
      severityNumber: 17,
      attributes: { 'job.id': 'j-9' },
      traceId,
      spanId: 'eee19b7ec3c1b174',
      timeUnixNano: '1700000000000000000',
      observedTimeUnixNano: '0',
      resource: { 'service.name': 'json-logger' },
      scope: { name: 'pino', version: '' },
    });
  });

  it('bad HTTP requests get clear 4xx answers and leave the receiver working', async () => {
    const post = (path: string, contentType: string, body: string | Uint8Array) =>
      fetch(`${receiver.httpEndpoint}${path}`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });

    const garbage = await post('/v1/traces', 'application/x-protobuf', new Uint8Array([0x0a, 0xff, 0x01]));
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toMatch(/cannot decode traces request/);
    const badJson = await post(
      '/v1/traces',
      'application/json',
      '{"resourceSpans": [{"scopeSpans": [{"spans": [',
    );
    expect(badJson.status).toBe(400);
    expect((await post('/v1/traces', 'text/plain', 'hi')).status).toBe(415);
    expect((await post('/v1/nothing', 'application/json', '{}')).status).toBe(404);
    expect((await fetch(`${receiver.httpEndpoint}/v1/traces`)).status).toBe(405);
    expect(receiver.calls.filter((c) => c.outcome === 'invalid')).toHaveLength(2);

    const ok = await exportSpans(
      new HttpProtoTraceExporter({ url: `${receiver.httpEndpoint}/v1/traces` }),
      makeSpans('after-garbage'),
    );
    expect(ok.code).toBe(ExportResultCode.SUCCESS);
    await receiver.waitForSpans({ name: 'after-garbage' });
  });

  it.each([
    ['grpc', () => new GrpcTraceExporter()],
    ['http/protobuf', () => new HttpProtoTraceExporter()],
    ['http/json', () => new HttpJsonTraceExporter()],
  ] as const)('exporterEnv(%s) points an env-configured exporter at the receiver', async (protocol, make) => {
    const saved = { ...process.env };
    Object.assign(process.env, receiver.exporterEnv(protocol));
    let exporter: SpanExporter;
    try {
      exporter = make(); // exporters read OTEL_EXPORTER_OTLP_* when constructed
    } finally {
      process.env = saved;
    }
    const result = await exportSpans(exporter, makeSpans(`via-env-${protocol}`));
    expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
    expect(receiver.calls.at(-1)?.transport).toBe(protocol === 'grpc' ? 'grpc' : 'http');
    await receiver.waitForSpans({ name: `via-env-${protocol}` });
    await exporter.shutdown();
  });

  it('accepts gzip-compressed HTTP bodies', async () => {
    const payload = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: 'gzipped',
                  startTimeUnixNano: '1',
                  endTimeUnixNano: '2000001',
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${receiver.httpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(payload)),
    });
    expect(res.status).toBe(200);
    const [span] = await receiver.waitForSpans({ name: 'gzipped' });
    expect(span).toMatchObject({
      kind: 'INTERNAL',
      durationMs: 2,
      resource: {},
      scope: { name: '', version: '' },
    });
  });

  it('waitForSpans fails with a message that lists what did arrive', async () => {
    await exportSpans(new GrpcTraceExporter({ url: receiver.grpcEndpoint }), makeSpans('present'));
    await receiver.waitForSpans({ name: 'present' });
    await expect(receiver.waitForSpans({ name: /^absent/ }, { timeoutMs: 200 })).rejects.toThrow(
      /1 span\(s\) matching \{name: \/\^absent\/\}[\s\S]*Received so far: present/,
    );
  });

  describe.each(TRACE_EXPORTERS)('%s fault behaviours', (_, make) => {
    it("'hang': the exporter times out, nothing is recorded, and the receiver works again after 'ok'", async () => {
      receiver.setBehaviour('hang');
      const exporter = make(receiver, 300);
      const hung = await exportSpans(exporter, makeSpans('while-hung'));
      expect(hung.code).toBe(ExportResultCode.FAILED);
      expect(receiver.calls.some((c) => c.outcome === 'hang' && c.items === 1)).toBe(true);
      expect(receiver.spans).toEqual([]);

      receiver.setBehaviour('ok');
      const after = await exportSpans(exporter, makeSpans('after-hang'));
      expect(after.code).toBe(ExportResultCode.SUCCESS);
      expect((await receiver.waitForSpans({ name: 'after-hang' })).length).toBe(1);
      await exporter.shutdown();
    });

    it("'unavailable': the exporter is refused and nothing is recorded", async () => {
      receiver.setBehaviour('unavailable');
      const exporter = make(receiver, 500);
      const refused = await exportSpans(exporter, makeSpans('refused'));
      expect(refused.code).toBe(ExportResultCode.FAILED);
      expect(receiver.calls.some((c) => c.outcome === 'unavailable')).toBe(true);
      expect(receiver.spans).toEqual([]);
      await exporter.shutdown();
    });
  });

  it('stop() closes everything even while calls hang', async () => {
    const own = await startOtlpReceiver({ behaviour: 'hang' });
    // Short deadline: after stop() the exporter retries against a closed port until it expires.
    const grpcExporter = new GrpcTraceExporter({ url: own.grpcEndpoint, timeoutMillis: 1_500 });
    const grpcResult = exportSpans(grpcExporter, makeSpans('g'));
    const httpResult = fetch(`${own.httpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }).then(
      (res) => `answered ${res.status}`,
      () => 'connection dropped',
    );
    await waitFor(() => own.calls.length >= 2, { what: 'both hung calls to reach the receiver' });
    expect(own.calls.map((c) => `${c.transport}:${c.outcome}`).sort()).toEqual(['grpc:hang', 'http:hang']);

    await own.stop();
    expect(await httpResult).toBe('connection dropped');
    expect((await grpcResult).code).toBe(ExportResultCode.FAILED);
    await expect(fetch(`${own.httpEndpoint}/v1/traces`, { method: 'POST' })).rejects.toThrow();
    await grpcExporter.shutdown();
  });
});
