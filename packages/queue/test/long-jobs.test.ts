import { waitFor } from '@media-cluster/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, type JobMessage } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deferred,
  deleteQueue,
  keysOf,
  pendingCount,
  recordingLogger,
  testNames,
} from './support.js';

afterAll(closeClients);

describe.each(BACKENDS)('a job that runs longer than claimIdleMs (on $name)', (backend) => {
  it('is kept alive by the heartbeat: another consumer does not take it over, it runs once', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const runs: JobMessage[] = [];
    const handler = async (job: JobMessage) => {
      runs.push(job);
      // Four claim periods long.
      await new Promise((r) => setTimeout(r, 1_200));
    };
    const options = { redis, names, claimIdleMs: 300, handler, logger: recordingLogger() };
    const slow = createConsumer({ ...options, consumer: 'slow' });
    const watcher = createConsumer({ ...options, consumer: 'watcher' });
    await slow.start();
    await producer.send({ jobId: 'long' });
    await waitFor(() => runs.length === 1, { what: 'job started' });
    // The watcher starts claiming while the long job runs.
    await watcher.start();
    await waitFor(async () => (await pendingCount(redis, names)) === 0, {
      what: 'job acked',
      timeoutMs: 10_000,
    });
    await Promise.all([slow.close(), watcher.close()]);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ deliveryCount: 1, attempt: 1 });
    await deleteQueue(redis, names);
  });

  it('close() keeps the heartbeat going while it drains a long job: no other consumer takes it over', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const runs: string[] = [];
    const started = deferred();
    const options = { redis, names, claimIdleMs: 300, logger: recordingLogger() };
    const leaving = createConsumer({
      ...options,
      consumer: 'leaving',
      handler: async () => {
        runs.push('leaving');
        started.resolve();
        await new Promise((r) => setTimeout(r, 1_200));
      },
    });
    const staying = createConsumer({
      ...options,
      consumer: 'staying',
      handler: async () => {
        runs.push('staying');
      },
    });
    await leaving.start();
    await producer.send({ jobId: 'long' });
    await started.promise;
    await staying.start();
    await leaving.close();
    expect(await pendingCount(redis, names)).toBe(0);
    await staying.close();
    expect(runs).toEqual(['leaving']);
    await deleteQueue(redis, names);
  });

  it('when another consumer takes its entry over, the heartbeat notices and the failure is left to the new owner', async () => {
    const redis = backend.client();
    const names = testNames();
    const producer = createProducer({ redis, names });
    const started = deferred();
    const fail = deferred();
    const logger = recordingLogger();
    const consumer = createConsumer({
      redis,
      names,
      consumer: 'victim',
      claimIdleMs: 300,
      logger,
      handler: async () => {
        started.resolve();
        await fail.promise;
        throw new Error('failed after the takeover');
      },
    });
    await consumer.start();
    const id = await producer.send({ jobId: 'contested' });
    await started.promise;
    // What a consumer that saw this one as dead would do.
    await redis.call('XCLAIM', keysOf(names).stream, names.group, 'thief', '0', id, 'JUSTID');
    await waitFor(() => logger.lines.some((l) => l.msg.startsWith('another consumer took this entry over')), {
      what: 'the heartbeat to notice',
    });
    fail.resolve();
    await consumer.close();
    expect(logger.lines.some((l) => l.msg.startsWith('job failed after another consumer took it over'))).toBe(
      true,
    );
    // Not a failed attempt: no retry, no DLQ; the entry is the thief's now.
    expect(await redis.zcard(keysOf(names).delayed)).toBe(0);
    expect(await redis.xlen(keysOf(names).dlq)).toBe(0);
    const pending = (await redis.xpending(keysOf(names).stream, names.group, '-', '+', 10)) as [
      string,
      string,
    ][];
    expect(pending.map(([entry, owner]) => [entry, owner])).toEqual([[id, 'thief']]);
    await deleteQueue(redis, names);
  });
});
