import { fileURLToPath } from 'node:url';
import { type Spawned, spawnTracked, stopProcess, uniqueName, waitFor } from '@media-cluster/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, type JobMessage, queueNames, shardFor } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deferred,
  deleteQueue,
  inMemoryTracing,
  pendingCount,
  readStream,
  recordingLogger,
  spansNamed,
  testNames,
} from './support.js';

/**
 * `shards: 3`: jobs spread over three streams (each with its own hash tag) by
 * their partition key; consumers read every shard. Order per key, retries, the
 * DLQ, takeover, stats and traces behave as with one stream.
 */
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/consumer.ts', import.meta.url));
const SHARDS = 3;
let tracing: ReturnType<typeof inMemoryTracing>;
const children = new Set<Spawned>();

beforeAll(() => {
  tracing = inMemoryTracing();
});
afterEach(async () => {
  tracing.exporter.reset();
  await Promise.all([...children].map((c) => stopProcess(c, 'SIGKILL')));
  children.clear();
});
afterAll(async () => {
  await closeClients();
  await tracing.shutdown();
});

describe.each(BACKENDS)('a queue of 3 shards (on $name)', (backend) => {
  it('spreads jobs over the shards by partition key and keeps each key in order', async () => {
    const redis = backend.client();
    const names = testNames('shards', SHARDS);
    const producer = createProducer({ redis, names });
    const starts = new Map<string, number[]>();
    const seenShards = new Map<string, Set<number>>();
    let running = 0;
    let peak = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 4,
      handler: async (job) => {
        const key = job.partitionKey as string;
        starts.set(key, [...(starts.get(key) ?? []), Number(job.payload)]);
        seenShards.set(key, (seenShards.get(key) ?? new Set()).add(job.shard));
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
      },
    });
    await consumer.start();
    const keys = Array.from({ length: 12 }, (_, i) => `pet-${i}`);
    for (let n = 0; n < 10; n++) {
      // Keys interleaved, each key's jobs numbered in send order.
      await Promise.all(
        keys.map((key) => producer.send({ jobId: `${key}-${n}`, partitionKey: key, payload: `${n}` })),
      );
    }
    await waitFor(() => [...starts.values()].reduce((sum, s) => sum + s.length, 0) === 120, {
      what: '120 jobs started',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'all acked' });
    await consumer.close();

    expect(peak).toBeLessThanOrEqual(4);
    for (const key of keys) {
      expect(starts.get(key), key).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Every job of a key came from the key's shard.
      expect([...(seenShards.get(key) ?? [])]).toEqual([shardFor(names, key, 0).index]);
    }
    const lengths = await Promise.all(names.shards.map((s) => redis.xlen(s.stream)));
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(120);
    for (const length of lengths) expect(length).toBeGreaterThan(0);
    // The spans name the queue, not the key of one shard, and say which shard.
    const spans = spansNamed(tracing.exporter.getFinishedSpans(), `process ${names.destination}`);
    expect(spans).toHaveLength(120);
    expect(new Set(spans.map((s) => s.attributes['messaging.destination.partition.id']))).toEqual(
      new Set(['0', '1', '2']),
    );
    await deleteQueue(redis, names);
  });

  it('with fewer slots than shards, every job runs once and never more than `concurrency` at a time', async () => {
    const redis = backend.client();
    const names = testNames('held', SHARDS);
    const producer = createProducer({ redis, names });
    const runs: JobMessage[] = [];
    let running = 0;
    let peak = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 1,
      claimIdleMs: 300,
      handler: async (job) => {
        runs.push(job);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
    });
    await consumer.start();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => producer.send({ jobId: `j${i}`, partitionKey: `k${i}` })),
    );
    await waitFor(() => runs.length === 30, { what: '30 jobs', timeoutMs: 20_000 });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'all acked' });
    await consumer.close();
    expect(peak).toBe(1);
    expect(new Set(runs.map((j) => j.jobId)).size).toBe(30);
    // Entries held while the one slot was busy were kept alive by the heartbeat, not taken over.
    expect(runs.every((j) => j.deliveryCount === 1)).toBe(true);
    await deleteQueue(redis, names);
  });

  it('retries and dead-letters on the shard of the job, in the producer trace; stats sum the shards', async () => {
    const redis = backend.client();
    const names = testNames('shard-dlq', SHARDS);
    const producer = createProducer({ redis, names });
    const attempts: number[] = [];
    const release = deferred();
    let blocked = 0;
    const consumer = createConsumer({
      redis,
      names,
      concurrency: 2,
      maxAttempts: 3,
      backoff: { baseMs: 10, maxMs: 20 },
      logger: recordingLogger(),
      handler: async (job) => {
        if (job.jobId === 'poison') {
          attempts.push(job.attempt);
          throw new Error(`fails on attempt ${job.attempt}`);
        }
        blocked++;
        await release.promise;
      },
    });
    await consumer.start();
    const key = 'pet-poison';
    const shard = shardFor(names, key, 0);
    await producer.send({ jobId: 'poison', partitionKey: key });
    await waitFor(async () => (await redis.xlen(shard.dlq)) === 1, { what: 'dead letter' });
    expect(attempts).toEqual([1, 2, 3]);
    for (const other of names.shards.filter((s) => s !== shard)) expect(await redis.xlen(other.dlq)).toBe(0);
    const [dead] = await readStream(redis, shard.dlq);
    expect(dead?.fields).toMatchObject({ job_id: 'poison', partition_key: key, reason: 'handler_failed' });
    const stream = await readStream(redis, shard.stream);
    expect(stream.map((e) => e.fields.attempt)).toEqual(['1', '2', '3']);

    // Two jobs hold both slots, three wait: stats add up pending and lag of every shard
    // (up to shards - 1 = 2 of the waiting ones may already be delivered and held).
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => producer.send({ jobId: `b${i}`, partitionKey: `b${i}` })),
    );
    await waitFor(() => blocked === 2, { what: '2 blocked' });
    const stats = await consumer.stats();
    expect(stats.pending + stats.lag).toBe(5);
    expect(stats.pending).toBeGreaterThanOrEqual(2);
    expect(stats.pending).toBeLessThanOrEqual(4);
    expect(consumer.inflight).toBe(2);
    release.resolve();
    await waitFor(async () => (await consumer.stats()).pending + (await consumer.stats()).lag === 0, {
      what: 'all done',
    });
    await consumer.close();

    const spans = spansNamed(tracing.exporter.getFinishedSpans(), `process ${names.destination}`).filter(
      (s) => s.attributes['media_cluster.job_id'] === 'poison',
    );
    expect(spans).toHaveLength(3);
    const [send] = spansNamed(tracing.exporter.getFinishedSpans(), `send ${names.destination}`).filter(
      (s) => s.attributes['media_cluster.job_id'] === 'poison',
    );
    expect(send?.attributes['messaging.destination.partition.id']).toBe(String(shard.index));
    for (const span of spans) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      expect(span.attributes['messaging.destination.partition.id']).toBe(String(shard.index));
    }
    await deleteQueue(redis, names);
  });

  it('a consumer SIGKILLed while holding entries on every shard: another claims them all, every job completes once', async () => {
    const redis = backend.client();
    const prefix = uniqueName('shard-crash');
    const names = queueNames(prefix, { shards: SHARDS });
    const counts = `{${prefix}}:counts`;
    const producer = createProducer({ redis, names });
    // Two hung jobs per shard.
    const hung = names.shards.flatMap((shard) => {
      const found: string[] = [];
      for (let i = 0; found.length < 2; i++)
        if (shardFor(names, `hang-${i}`, 0) === shard) found.push(`hang-${i}`);
      return found;
    });
    await Promise.all(hung.map((jobId) => producer.send({ jobId, partitionKey: jobId })));
    const child = spawnTracked(process.execPath, ['--import', 'tsx', fixture], {
      cwd: packageDir,
      env: {
        ...process.env,
        ...backend.env(),
        QUEUE_PREFIX: prefix,
        QUEUE_SHARDS: String(SHARDS),
        CONSUMER_NAME: 'doomed',
        MODE: 'hang',
        HANG: hung.join(','),
        COUNTS_KEY: counts,
        CONCURRENCY: '6',
        CLAIM_IDLE_MS: '60000',
      },
    });
    children.add(child);
    await waitFor(async () => (await redis.hlen(`${counts}:started`)) === 6, {
      timeoutMs: 20_000,
      what: 'the child to start all 6 hung jobs',
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${child.output()}`);
    });
    await stopProcess(child, 'SIGKILL');

    const done: JobMessage[] = [];
    const survivor = createConsumer({
      redis,
      names,
      consumer: 'survivor',
      claimIdleMs: 300,
      concurrency: 6,
      logger: recordingLogger(),
      handler: async (job) => {
        done.push(job);
      },
    });
    await survivor.start();
    await waitFor(() => done.length === 6, { timeoutMs: 15_000, what: 'every hung job taken over' });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'nothing pending' });
    await survivor.close();
    expect(done.map((j) => j.jobId).sort()).toEqual([...hung].sort());
    expect(new Set(done.map((j) => j.shard))).toEqual(new Set([0, 1, 2]));
    for (const job of done) expect(job).toMatchObject({ deliveryCount: 2, attempt: 2 });
    await redis.del(`${counts}:done`, `${counts}:started`);
    await deleteQueue(redis, names);
  }, 60_000);
});
