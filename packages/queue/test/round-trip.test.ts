import { waitFor } from '@media-cluster/testkit';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, type JobMessage } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deferred,
  deleteQueue,
  inMemoryTracing,
  keysOf,
  pendingCount,
  readStream,
  recordingLogger,
  sendAll,
  spansNamed,
  testNames,
} from './support.js';

let tracing: ReturnType<typeof inMemoryTracing>;

beforeAll(() => {
  tracing = inMemoryTracing();
});
afterEach(async () => {
  tracing.exporter.reset();
});
afterAll(async () => {
  await closeClients();
  await tracing.shutdown();
});

describe.each(BACKENDS)('producer -> consumer (on $name)', (backend) => {
  it('a job without payload or partition key has neither field; an entry written before the queue was domain-free (pet_id) is read with pet_id as its partition key; keys from before hash tags are reported', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const seen: JobMessage[] = [];
    const logger = recordingLogger();
    const consumer = createConsumer({
      redis,
      names,
      logger,
      handler: async (job) => {
        seen.push(job);
      },
    });
    // A stream left at the key name from before hash tags: reported at start-up.
    const legacyStream = `${names.prefix}:jobs`;
    await redis.xadd(legacyStream, '*', 'job_id', 'stranded', 'attempt', '1', 'enqueued_at', '1');
    await producer.send({ jobId: 'bare' });
    await redis.xadd(
      keysOf(names).stream,
      '*',
      'job_id',
      'legacy',
      'pet_id',
      'rex',
      'attempt',
      '1',
      'enqueued_at',
      '1',
    );
    await consumer.start();
    await waitFor(() => seen.length === 2, { what: '2 jobs handled' });
    await consumer.close();
    const [bare] = await readStream(redis, keysOf(names).stream);
    expect(Object.keys(bare?.fields ?? {})).toEqual(['job_id', 'attempt', 'enqueued_at', 'traceparent']);
    expect(seen.find((j) => j.jobId === 'bare')).toMatchObject({
      payload: undefined,
      partitionKey: undefined,
    });
    expect(seen.find((j) => j.jobId === 'legacy')).toMatchObject({ partitionKey: 'rex', attempt: 1 });
    const warning = logger.lines.find((l) => l.msg.startsWith('queue keys from before hash tags'));
    expect(warning?.obj.legacy_keys).toEqual([legacyStream]);
    expect(seen.map((j) => j.jobId)).not.toContain('stranded');
    await redis.del(legacyStream);
    expect(await pendingCount(redis, names)).toBe(0);
    await deleteQueue(redis, names);
  });

  it('delivers every job with its payload and partition key, acks it, and nests process spans under send spans', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const seen: JobMessage[] = [];
    const handlerSpans: string[] = [];
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 3,
      handler: async (job) => {
        seen.push(job);
        // The handler runs in the CONSUMER span's context: its spans nest under it.
        const inner = trace.getTracer('test').startSpan('handler-work');
        handlerSpans.push(inner.spanContext().spanId);
        inner.end();
      },
    });
    await consumer.start();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(
        await producer.send({
          jobId: `job-${i}`,
          partitionKey: `pet-secret-${i}`,
          payload: JSON.stringify({ note: `payload-secret-${i}` }),
        }),
      );

    await waitFor(() => seen.length === 10, { what: '10 jobs handled' });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'all acked' });
    expect(seen.map((j) => j.jobId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job-${i}`).sort());
    const first = seen.find((j) => j.jobId === 'job-0');
    expect(first).toMatchObject({
      partitionKey: 'pet-secret-0',
      payload: '{"note":"payload-secret-0"}',
      attempt: 1,
      deliveryCount: 1,
      messageId: ids[0],
    });
    expect(first?.enqueuedAt).toBeGreaterThan(Date.now() - 60_000);

    // Stream fields are exactly the README's.
    const [entry] = await readStream(redis, keysOf(names).stream);
    expect(Object.keys(entry?.fields ?? {})).toEqual([
      'job_id',
      'partition_key',
      'payload',
      'attempt',
      'enqueued_at',
      'traceparent',
    ]);

    await consumer.close();
    const spans = tracing.exporter.getFinishedSpans();
    const sends = spansNamed(spans, `send ${names.destination}`);
    const processes = spansNamed(spans, `process ${names.destination}`);
    expect(sends).toHaveLength(10);
    expect(processes).toHaveLength(10);
    for (const p of processes) {
      const jobId = p.attributes['media_cluster.job_id'];
      const send = sends.find((s) => s.attributes['media_cluster.job_id'] === jobId);
      expect(send, `send span of ${jobId}`).toBeDefined();
      expect(p.kind).toBe(SpanKind.CONSUMER);
      expect(send?.kind).toBe(SpanKind.PRODUCER);
      // Parent = the producer's span, and a link to it as well.
      expect(p.spanContext().traceId).toBe(send?.spanContext().traceId);
      expect(p.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      expect(p.links.map((l) => l.context.spanId)).toEqual([send?.spanContext().spanId]);
      expect(p.attributes).toMatchObject({
        'messaging.system': 'redis',
        'messaging.destination.name': names.destination,
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': names.group,
        'media_cluster.attempt': 1,
      });
      expect(p.attributes['messaging.message.id']).toBe(send?.attributes['messaging.message.id']);
    }
    expect(sends[0]?.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.destination.name': names.destination,
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'media_cluster.attempt': 1,
    });
    // The handler's own spans are children of the process spans.
    const work = spansNamed(spans, 'handler-work');
    expect(work).toHaveLength(10);
    const processIds = new Set(processes.map((p) => p.spanContext().spanId));
    for (const w of work) expect(processIds.has(w.parentSpanContext?.spanId ?? '')).toBe(true);
    // Neither the partition key nor the payload reaches telemetry.
    const telemetry = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]));
    expect(telemetry).not.toContain('pet-secret');
    expect(telemetry).not.toContain('payload-secret');
    await deleteQueue(redis, names);
  });

  it('sends of one turn under one parent share a send span (messaging.batch.message_count); other parents get their own', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    let handled = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 8,
      handler: async () => {
        handled++;
      },
    });
    await consumer.start();
    const tracer = trace.getTracer('test');
    const requestA = tracer.startSpan('request-a');
    const requestB = tracer.startSpan('request-b');
    const inA = trace.setSpan(context.active(), requestA);
    const inB = trace.setSpan(context.active(), requestB);
    await Promise.all([
      ...[0, 1, 2].map((i) => context.with(inA, () => producer.send({ jobId: `a-${i}` }))),
      context.with(inB, () => producer.send({ jobId: 'b-0' })),
    ]);
    requestA.end();
    requestB.end();
    await waitFor(() => handled === 4, { what: '4 jobs' });
    await consumer.close();
    const spans = tracing.exporter.getFinishedSpans();
    const sends = spansNamed(spans, `send ${names.destination}`);
    expect(sends).toHaveLength(2);
    const sendA = sends.find((s) => s.parentSpanContext?.spanId === requestA.spanContext().spanId);
    const sendB = sends.find((s) => s.parentSpanContext?.spanId === requestB.spanContext().spanId);
    expect(sendA?.attributes['messaging.batch.message_count']).toBe(3);
    expect(sendA?.attributes['media_cluster.job_id']).toBeUndefined();
    expect(sendA?.attributes['messaging.message.id']).toBeUndefined();
    expect(sendB?.attributes).toMatchObject({ 'media_cluster.job_id': 'b-0', 'media_cluster.attempt': 1 });
    expect(sendB?.attributes['messaging.batch.message_count']).toBeUndefined();
    // Every job still gets its own process span, under its own send span.
    const processes = spansNamed(spans, `process ${names.destination}`);
    expect(processes).toHaveLength(4);
    for (const p of processes) {
      const expected = String(p.attributes['media_cluster.job_id']).startsWith('a-') ? sendA : sendB;
      expect(p.parentSpanContext?.spanId).toBe(expected?.spanContext().spanId);
      expect(p.spanContext().traceId).toBe(expected?.spanContext().traceId);
    }
    await deleteQueue(redis, names);
  });

  it('never runs more than `concurrency` handlers at once, and fills every slot', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    let running = 0;
    let peak = 0;
    let finished = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 4,
      handler: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        finished++;
      },
    });
    await sendAll(
      producer,
      Array.from({ length: 40 }, (_, i) => ({ jobId: `j${i}` })),
    );
    await consumer.start();
    await waitFor(() => finished === 40, { what: '40 jobs', timeoutMs: 20_000 });
    await consumer.close();
    expect(peak).toBe(4);
    expect(await pendingCount(redis, names)).toBe(0);
    await deleteQueue(redis, names);
  });

  it('stats() reports pending and lag of the group', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const release = deferred();
    let started = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 2,
      handler: async () => {
        started++;
        await release.promise;
      },
    });
    await sendAll(
      producer,
      Array.from({ length: 5 }, (_, i) => ({ jobId: `j${i}` })),
    );
    await consumer.start();
    await waitFor(() => started === 2, { what: '2 jobs started' });
    expect(consumer.inflight).toBe(2);
    expect(await consumer.stats()).toEqual({ pending: 2, lag: 3 });
    release.resolve();
    await waitFor(() => started === 5, { what: 'all started' });
    await consumer.close();
    expect(await consumer.stats()).toEqual({ pending: 0, lag: 0 });
    await deleteQueue(redis, names);
  });
});
