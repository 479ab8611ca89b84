import { startRedis, waitFor } from '@media-cluster/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer } from '../src/index.js';
import {
  BACKENDS,
  clientList,
  closeClients,
  deferred,
  deleteQueue,
  keysOf,
  pendingCount,
  recordingLogger,
  sendAll,
  testNames,
} from './support.js';

afterAll(closeClients);

describe.each(BACKENDS)('close() (on $name)', (backend) => {
  it('during load: in-flight jobs finish and are acked, nothing is left pending, the rest waits for the next consumer', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const total = 300;
    await sendAll(
      producer,
      Array.from({ length: total }, (_, i) => ({ jobId: `job-${i}` })),
    );
    let started = 0;
    const finished = new Map<string, number>();
    const handler = async (job: { jobId: string }) => {
      started++;
      await new Promise((r) => setTimeout(r, 5 + (started % 7) * 3));
      finished.set(job.jobId, (finished.get(job.jobId) ?? 0) + 1);
    };
    const first = createConsumer({ redis, names, concurrency: 8, handler, logger: recordingLogger() });
    await first.start();
    await waitFor(() => finished.size >= 40 && first.inflight > 0, { what: 'load under way' });
    const inflightAtClose = first.inflight;
    expect(inflightAtClose).toBeGreaterThan(0);

    const closing = first.close();
    expect(first.close()).toBe(closing);
    await closing;
    // Every job that started finished, and was acknowledged.
    expect(finished.size).toBe(started);
    expect(first.inflight).toBe(0);
    expect(await pendingCount(redis, names)).toBe(0);
    const { lag } = await first.stats();
    expect(lag).toBe(total - started);
    expect(lag).toBeGreaterThan(0);
    // A second close() is a no-op.
    await first.close();

    const second = createConsumer({ redis, names, concurrency: 8, handler, logger: recordingLogger() });
    await second.start();
    await waitFor(() => finished.size === total, {
      what: 'the rest handled by the next consumer',
      timeoutMs: 20_000,
    });
    await second.close();
    expect([...finished.values()].every((n) => n === 1)).toBe(true);
    expect(await pendingCount(redis, names)).toBe(0);
    await deleteQueue(redis, names);
  });

  it('returns promptly from a blocking read and removes its consumer from the group', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const handled = deferred();
    const logger = recordingLogger();
    const consumer = createConsumer({
      redis,
      names,
      logger,
      consumer: 'short-lived',
      blockMs: 60_000,
      handler: async () => handled.resolve(),
    });
    await consumer.start();
    // Redis 7 adds a consumer to the group when it first delivers to it.
    await producer.send({ jobId: 'one' });
    await handled.promise;
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'acked' });
    expect(await redis.xinfo('CONSUMERS', keysOf(names).stream, names.group)).toHaveLength(1);
    expect(await clientList(redis)).toContain('name=mcq-reader-short-lived ');
    await consumer.close();
    // CLIENT UNBLOCK ended the blocking read (no fallback to dropping the connection).
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(await redis.xinfo('CONSUMERS', keysOf(names).stream, names.group)).toEqual([]);
    // The reader connection is gone.
    const clients = await clientList(redis);
    expect(clients).not.toContain('name=mcq-reader-short-lived ');
    await deleteQueue(redis, names);
  });

  it('close() before start() resolves, and start() after close() is refused', async () => {
    const redis = backend.client();
    const consumer = createConsumer({ redis, names: testNames(), handler: async () => {} });
    await consumer.close();
    await expect(consumer.start()).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
  });
});

describe('Redis going away', () => {
  it('the consumer backs off without a tight error loop and resumes when Redis is back', async () => {
    const server = await startRedis({ appendOnly: true });
    try {
      // Commands fail fast while Redis is down, so every loop meets errors (not just a queued command).
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      redis.on('error', () => undefined);
      const names = testNames();
      const producer = createProducer({ redis, names });
      const logger = recordingLogger();
      const handled: string[] = [];
      const consumer = createConsumer({
        redis,
        names,
        blockMs: 200,
        claimIdleMs: 1_000,
        logger,
        handler: async (job) => {
          handled.push(job.jobId);
        },
      });
      await consumer.start();
      await producer.send({ jobId: 'before' });
      await waitFor(() => handled.includes('before'), { what: 'job before the outage' });

      await server.kill();
      // Stay down long enough for several reconnect attempts of every loop.
      const downSince = Date.now();
      await waitFor(() => Date.now() - downSince >= 1_500, { what: 'outage', timeoutMs: 5_000 });
      const warnings = logger.lines.filter((l) => l.level === 'warn' || l.level === 'error').length;
      const readFailures = logger.lines.filter((l) => l.msg.startsWith('XREADGROUP failed')).length;
      await server.restart();

      await waitFor(() => producer.send({ jobId: 'after' }).then(() => true), {
        what: 'Redis accepting writes again',
        timeoutMs: 10_000,
      });
      await waitFor(() => handled.includes('after'), { what: 'job after the outage', timeoutMs: 20_000 });
      await consumer.close();
      // The read loop failed and backed off (100 ms doubling): a few attempts in 1.5 s, not a tight loop;
      // one warning per kind of failure, the repeats at debug.
      expect(readFailures).toBeGreaterThan(0);
      expect(readFailures).toBeLessThan(15);
      expect(warnings).toBeLessThanOrEqual(8);
      expect(logger.lines.some((l) => l.msg === 'XREADGROUP works again')).toBe(true);
      expect(handled).toEqual(['before', 'after']);
      expect(await pendingCount(redis, names)).toBe(0);
      redis.disconnect();
    } finally {
      await closeClients();
      await server.stop();
    }
  }, 60_000);
});
