import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver, waitFor } from '@media-cluster/testkit';
import { context, createTraceState, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Consumer,
  createConsumer,
  createProducer,
  type JobMessage,
  type QueueNames,
  type RedisClient,
} from '../src/index.js';
import { BACKENDS, closeClients, deleteQueue, keysOf, recordingLogger, testNames } from './support.js';
import { registerTracing } from './tracing.js';

/**
 * W3C trace-context edge cases, checked on the spans that reach an OTLP
 * receiver (what a collector would get), not on in-process objects.
 */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe.each(BACKENDS)('trace context carried in the stream entry (on $name)', (backend) => {
  let receiver: OtlpReceiver;
  let tracing: ReturnType<typeof registerTracing> | undefined;
  let consumer: Consumer;
  let redis: RedisClient;
  const names: QueueNames = testNames('w3c');
  const handled = new Map<string, { job: JobMessage; traceId: string | undefined }>();

  beforeAll(async () => {
    redis = backend.client();
    receiver = await startOtlpReceiver();
    tracing = registerTracing([
      new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: receiver.grpcEndpoint }) }),
    ]);
    consumer = createConsumer({
      redis,
      names,
      concurrency: 8,
      logger: recordingLogger(),
      handler: async (job) => {
        handled.set(job.jobId, { job, traceId: trace.getSpanContext(context.active())?.traceId });
      },
    });
    await consumer.start();
  });

  afterAll(async () => {
    await consumer?.close();
    await deleteQueue(redis, names);
    await closeClients();
    await tracing?.shutdown();
    await receiver?.stop();
  });

  /** Adds an entry with these propagation fields, waits for its process span at the receiver. */
  async function processEntry(
    jobId: string,
    propagationFields: Record<string, string>,
  ): Promise<ReceivedSpan> {
    const fields = ['job_id', jobId, 'attempt', '1', 'enqueued_at', String(Date.now())];
    for (const [k, v] of Object.entries(propagationFields)) fields.push(k, v);
    await redis.xadd(keysOf(names).stream, '*', ...fields);
    const [span] = await receiver.waitForSpans({
      name: `process ${names.destination}`,
      where: (s) => s.attributes['media_cluster.job_id'] === jobId,
    });
    return span as ReceivedSpan;
  }

  it('a valid traceparent + tracestate: parent and link are the producer, tracestate kept on both', async () => {
    const span = await processEntry('valid', {
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    expect(span).toMatchObject({ traceId: TRACE_ID, parentSpanId: SPAN_ID, kind: 'CONSUMER' });
    expect(span.traceState).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(span.links).toHaveLength(1);
    expect(span.links[0]).toMatchObject({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
  });

  it.each([
    ['malformed ids', `00-${TRACE_ID.slice(0, 30)}-${SPAN_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['forbidden version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with extra fields', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['garbage', 'not a traceparent'],
  ])(
    'an invalid traceparent (%s) starts a new trace; the job is still processed',
    async (label, traceparent) => {
      const jobId = `invalid-${label}`;
      const span = await processEntry(jobId, { traceparent, tracestate: 'rojo=1' });
      expect(span.traceId).not.toBe(TRACE_ID);
      expect(span.parentSpanId).toBe('');
      expect(span.links).toEqual([]);
      // tracestate without a valid traceparent is ignored (W3C).
      expect(span.traceState).toBe('');
      expect(handled.get(jobId)?.traceId).toBe(span.traceId);
    },
  );

  it('a future version (cc) with extra fields is accepted: its first four fields are used', async () => {
    const span = await processEntry('future', {
      traceparent: `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`,
    });
    expect(span).toMatchObject({ traceId: TRACE_ID, parentSpanId: SPAN_ID });
    expect(span.links[0]).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });

  it('a tracestate with more than 32 members keeps the first 32; the traceparent still applies', async () => {
    const members = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`);
    const span = await processEntry('many-members', {
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: members.join(','),
    });
    expect(span.parentSpanId).toBe(SPAN_ID);
    expect(span.traceState.split(',')).toEqual(members.slice(0, 32));
  });

  it('a tracestate longer than 512 characters is cut to members that fit in 512; the traceparent still applies', async () => {
    const members = Array.from({ length: 8 }, (_, i) => `vendor${i}=${'x'.repeat(100)}`);
    const raw = members.join(',');
    expect(raw.length).toBeGreaterThan(512);
    const span = await processEntry('long-state', {
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: raw,
    });
    expect(span.parentSpanId).toBe(SPAN_ID);
    expect(span.traceState.length).toBeLessThanOrEqual(512);
    expect(span.traceState.split(',')).toEqual(members.slice(0, 4));
  });

  it('invalid tracestate members are dropped, valid ones kept', async () => {
    const span = await processEntry('bad-members', {
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: 'good=1,BAD KEY=2,no-equals,other=3',
    });
    expect(span.parentSpanId).toBe(SPAN_ID);
    expect(span.traceState).toBe('good=1,other=3');
  });

  it('an unsampled parent (flags 00): the job runs in that trace and no span is exported', async () => {
    await redis.xadd(
      keysOf(names).stream,
      '*',
      ...['job_id', 'unsampled', 'attempt', '1', 'enqueued_at', String(Date.now())],
      ...['traceparent', `00-${TRACE_ID}-${SPAN_ID}-00`],
    );
    await processEntry('marker-after-unsampled', {});
    await waitFor(() => handled.has('unsampled'), { what: 'unsampled job handled' });
    expect(handled.get('unsampled')?.traceId).toBe(TRACE_ID);
    expect(receiver.spans.filter((s) => s.attributes['media_cluster.job_id'] === 'unsampled')).toEqual([]);
  });

  it('producer -> consumer: the process span is the send span child, tracestate of the caller travels along', async () => {
    const producer = createProducer({ redis, names });
    const callerState = createTraceState('caller=abc');
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      traceState: callerState,
      isRemote: true,
    });
    await context.with(caller, () =>
      producer.send({ jobId: 'produced', partitionKey: 'pet-hidden', payload: '{"petId":"pet-hidden"}' }),
    );
    const [send] = await receiver.waitForSpans({ name: `send ${names.destination}`, traceId: TRACE_ID });
    const [proc] = await receiver.waitForSpans({
      name: `process ${names.destination}`,
      where: (s) => s.attributes['media_cluster.job_id'] === 'produced',
    });
    expect(send).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      kind: 'PRODUCER',
      traceState: 'caller=abc',
    });
    expect(proc).toMatchObject({ traceId: TRACE_ID, parentSpanId: send?.spanId, traceState: 'caller=abc' });
    expect(proc?.links).toEqual([
      expect.objectContaining({ traceId: TRACE_ID, spanId: send?.spanId, traceState: 'caller=abc' }),
    ]);
    expect(JSON.stringify(receiver.spans)).not.toContain('pet-hidden');
  });
});
