import { waitFor } from '@media-cluster/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, type JobMessage } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deleteQueue,
  inMemoryTracing,
  keysOf,
  pendingCount,
  readStream,
  recordingLogger,
  spansNamed,
  testNames,
} from './support.js';

let tracing: ReturnType<typeof inMemoryTracing>;

beforeAll(() => {
  tracing = inMemoryTracing();
});
afterEach(() => tracing.exporter.reset());
afterAll(async () => {
  await closeClients();
  await tracing.shutdown();
});

describe.each(BACKENDS)('failures (on $name)', (backend) => {
  it('retries a throwing handler with backoff, then moves it to the DLQ with the error', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const calls: { attempt: number; at: number; deliveryCount: number }[] = [];
    const retries: [string, number, string][] = [];
    const deadLetters: [JobMessage, unknown][] = [];
    const backoff = { baseMs: 200, maxMs: 400 };
    const consumer = createConsumer({
      redis,
      names,
      maxAttempts: 3,
      backoff,
      logger: recordingLogger(),
      handler: async (job) => {
        calls.push({ attempt: job.attempt, at: Date.now(), deliveryCount: job.deliveryCount });
        throw Object.assign(new Error(`boom on attempt ${job.attempt}`), { code: 'E_BOOM' });
      },
      hooks: {
        onRetry: (job, error, next) => {
          retries.push([job.jobId, next, (error as Error).message]);
        },
        onDeadLetter: async (job, error) => {
          deadLetters.push([job, error]);
        },
      },
    });
    await consumer.start();
    const sourceId = await producer.send({ jobId: 'job-fail', partitionKey: 'pet-1', payload: '{"n":1}' });

    await waitFor(() => deadLetters.length === 1, { what: 'dead letter', timeoutMs: 10_000 });
    await consumer.close();

    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    // Each retry is a new entry (delivered once), carrying the attempt number.
    expect(calls.map((c) => c.deliveryCount)).toEqual([1, 1, 1]);
    // Equal-jitter backoff: at least half the nominal delay (200 ms, then 400 ms).
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(100);
    expect((calls[2]?.at ?? 0) - (calls[1]?.at ?? 0)).toBeGreaterThanOrEqual(200);
    expect(retries).toEqual([
      ['job-fail', 2, 'boom on attempt 1'],
      ['job-fail', 3, 'boom on attempt 2'],
    ]);
    expect(deadLetters[0]?.[0]).toMatchObject({ jobId: 'job-fail', attempt: 3 });

    const dlq = await readStream(redis, keysOf(names).dlq);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.fields).toMatchObject({
      job_id: 'job-fail',
      partition_key: 'pet-1',
      payload: '{"n":1}',
      attempt: '3',
      reason: 'handler_failed',
      error: 'boom on attempt 3',
      error_type: 'E_BOOM',
      delivery_count: '1',
    });
    expect(dlq[0]?.fields.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await pendingCount(redis, names)).toBe(0);
    expect(await redis.zcard(keysOf(names).delayed)).toBe(0);
    // The original entry plus two retries went through the stream.
    const stream = await readStream(redis, keysOf(names).stream);
    expect(stream.map((e) => e.fields.attempt)).toEqual(['1', '2', '3']);
    expect(stream[0]?.id).toBe(sourceId);

    // Spans: three attempts in the producer's trace, each failed; retry and DLQ moves as events.
    const spans = tracing.exporter.getFinishedSpans();
    const [send] = spansNamed(spans, `send ${names.destination}`);
    const attempts = spansNamed(spans, `process ${names.destination}`).sort(
      (a, b) => Number(a.attributes['media_cluster.attempt']) - Number(b.attributes['media_cluster.attempt']),
    );
    expect(attempts).toHaveLength(3);
    for (const span of attempts) {
      expect(span.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('E_BOOM');
      expect(span.events.some((e) => e.name === 'exception')).toBe(true);
    }
    const retryEvents = attempts
      .slice(0, 2)
      .map((s) => s.events.find((e) => e.name === 'media_cluster.retry_scheduled'));
    expect(retryEvents.map((e) => e?.attributes?.['media_cluster.next_attempt'])).toEqual([2, 3]);
    expect(retryEvents[0]?.attributes?.['media_cluster.delivery_count']).toBe(1);
    const dead = attempts[2]?.events.find((e) => e.name === 'media_cluster.dead_lettered');
    expect(dead?.attributes).toMatchObject({
      'media_cluster.dead_letter_reason': 'handler_failed',
      'media_cluster.attempt': 3,
      'media_cluster.error': 'boom on attempt 3',
    });
    await deleteQueue(redis, names);
  });

  it('a job that fails once and then succeeds is acked after the retry', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const attempts: number[] = [];
    const consumer = createConsumer({
      redis,
      names,
      backoff: { baseMs: 10, maxMs: 10 },
      logger: recordingLogger(),
      handler: async (job) => {
        attempts.push(job.attempt);
        if (job.attempt === 1) throw new Error('transient');
      },
    });
    await consumer.start();
    await producer.send({ jobId: 'job-flaky' });
    await waitFor(() => attempts.length === 2, { what: 'second attempt' });
    await consumer.close();
    expect(attempts).toEqual([1, 2]);
    expect(await pendingCount(redis, names)).toBe(0);
    expect(await redis.xlen(keysOf(names).dlq)).toBe(0);
    await deleteQueue(redis, names);
  });

  it('hook errors are logged and never stop the retry or the consumer', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const logger = recordingLogger();
    const attempts: string[] = [];
    const consumer = createConsumer({
      redis,
      names,
      maxAttempts: 2,
      backoff: { baseMs: 10, maxMs: 10 },
      logger,
      handler: async (job) => {
        attempts.push(`${job.jobId}#${job.attempt}`);
        if (job.jobId === 'bad') throw new Error('always');
      },
      hooks: {
        onRetry: () => {
          throw new Error('hook exploded');
        },
        onDeadLetter: async () => Promise.reject(new Error('async hook exploded')),
      },
    });
    await consumer.start();
    await producer.send({ jobId: 'bad' });
    await waitFor(async () => (await redis.xlen(keysOf(names).dlq)) === 1, { what: 'dlq entry' });
    await producer.send({ jobId: 'good' });
    await waitFor(() => attempts.includes('good#1'), { what: 'next job still handled' });
    await consumer.close();
    expect(attempts.filter((a) => a.startsWith('bad'))).toEqual(['bad#1', 'bad#2']);
    const hookErrors = logger.lines.filter((l) => l.msg === 'queue hook failed').map((l) => l.obj.hook);
    expect(hookErrors).toEqual(['onRetry', 'onDeadLetter']);
    await deleteQueue(redis, names);
  });

  it('malformed entries go to the DLQ with a reason, are acked, and do not stop the consumer', async () => {
    const redis = backend.client();
    const names = testNames();
    const handled: string[] = [];
    const consumer = createConsumer({
      redis,
      names,
      logger: recordingLogger(),
      handler: async (job) => {
        handled.push(job.jobId);
      },
    });
    await consumer.start();
    const now = String(Date.now());
    const bad = [
      await redis.xadd(keysOf(names).stream, '*', 'partition_key', 'p', 'attempt', '1', 'enqueued_at', now),
      await redis.xadd(keysOf(names).stream, '*', 'job_id', 'j', 'attempt', 'abc', 'enqueued_at', now),
      await redis.xadd(keysOf(names).stream, '*', 'job_id', 'j', 'attempt', '0', 'enqueued_at', '-5'),
      await redis.xadd(keysOf(names).stream, '*', 'hello', 'world'),
      await redis.xadd(
        keysOf(names).stream,
        '*',
        ...['job_id', '', 'partition_key', 'x'.repeat(300), 'attempt', '1', 'enqueued_at', now],
      ),
      await redis.xadd(
        keysOf(names).stream,
        '*',
        ...['job_id', 'j', 'payload', 'x'.repeat(70_000), 'attempt', '1', 'enqueued_at', now],
      ),
    ];
    await redis.xadd(keysOf(names).stream, '*', 'job_id', 'valid', 'attempt', '1', 'enqueued_at', now);

    await waitFor(
      async () => handled.includes('valid') && (await redis.xlen(keysOf(names).dlq)) === bad.length,
      {
        what: 'all entries settled',
      },
    );
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'all acked' });
    await consumer.close();

    expect(handled).toEqual(['valid']);
    const dlq = await readStream(redis, keysOf(names).dlq);
    expect(dlq.map((e) => e.fields.source_id)).toEqual(bad);
    const reasons = Object.fromEntries(dlq.map((e) => [e.fields.source_id, e.fields.error]));
    expect(reasons[bad[0] as string]).toBe('missing field job_id');
    expect(reasons[bad[1] as string]).toBe('invalid attempt (expected an integer >= 1)');
    expect(reasons[bad[2] as string]).toBe(
      'invalid attempt (expected an integer >= 1); invalid enqueued_at (expected epoch milliseconds)',
    );
    expect(reasons[bad[3] as string]).toContain('missing field job_id; missing field attempt');
    expect(reasons[bad[4] as string]).toMatch(/invalid job_id .*; invalid partition_key/);
    expect(reasons[bad[5] as string]).toBe('invalid payload (expected at most 65536 bytes)');
    for (const entry of dlq) {
      expect(entry.fields.reason).toBe('malformed');
      // The raw fields as JSON, cut at 8 KiB.
      expect(entry.fields.raw).toMatch(/^\{"/);
      expect((entry.fields.raw as string).length).toBeLessThanOrEqual(8_193);
    }
    expect(JSON.parse(dlq[3]?.fields.raw as string)).toEqual({ hello: 'world' });
    const spans = spansNamed(tracing.exporter.getFinishedSpans(), `process ${names.destination}`);
    const failedSpans = spans.filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failedSpans).toHaveLength(6);
    expect(failedSpans.every((s) => s.events.some((e) => e.name === 'media_cluster.dead_lettered'))).toBe(
      true,
    );
    await deleteQueue(redis, names);
  });
});
