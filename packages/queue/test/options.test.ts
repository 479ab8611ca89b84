import { describe, expect, inject, it } from 'vitest';
import { createConsumer, createProducer, isQueueError, QueueError, queueNames } from '../src/index.js';
import { closeClients, redisClient, testNames } from './support.js';

const redisUrl = inject('redisUrl');

describe('queueNames', () => {
  it('builds every name from one prefix', () => {
    expect(queueNames()).toEqual({
      stream: 'media-cluster:jobs',
      group: 'media-cluster-workers',
      dlq: 'media-cluster:jobs:dlq',
      delayed: 'media-cluster:jobs:delayed',
    });
    expect(queueNames('staging').stream).toBe('staging:jobs');
    expect(() => queueNames('')).toThrow(TypeError);
    expect(() => queueNames('a b')).toThrow(/without spaces/);
  });
});

describe('options are checked once, at construction', () => {
  it('createConsumer lists every bad option in one QueueError', () => {
    let error: unknown;
    try {
      createConsumer({
        redis: {} as never,
        handler: 'nope' as never,
        concurrency: 0,
        claimIdleMs: 1.5,
        backoff: { baseMs: 500, maxMs: 100 },
        parentMode: 'sibling' as never,
        metrics: { prefix: 'media-cluster', secondsBuckets: [1, 0.5] },
      });
    } catch (e) {
      error = e;
    }
    expect(isQueueError(error, 'QUEUE_INVALID_OPTIONS')).toBe(true);
    const message = (error as QueueError).message;
    for (const key of [
      'redis',
      'handler',
      'concurrency',
      'claimIdleMs',
      'backoff',
      'parentMode',
      'metrics.prefix',
      'metrics.secondsBuckets',
    ]) {
      expect(message).toContain(`${key}`);
    }
  });

  it('createProducer rejects a bad maxLen', () => {
    const redis = redisClient(redisUrl);
    expect(() => createProducer({ redis, maxLen: -1 })).toThrow(QueueError);
  });
});

describe('producer input', () => {
  it('send() refuses jobs without usable ids or attempt, and nothing reaches the stream', async () => {
    const redis = redisClient(redisUrl);
    const names = testNames();
    const producer = createProducer({ redis, names });
    const bad = [
      { jobId: '', petId: 'p' },
      { jobId: 'j', petId: ' padded ' },
      { jobId: 'j', petId: 'x'.repeat(257) },
      { jobId: 'j', petId: 'p', attempt: 0 },
      { jobId: 'j', petId: 'p', attempt: 1.5 },
      { jobId: 42 as unknown as string, petId: 'p' },
    ];
    for (const job of bad) {
      await expect(producer.send(job), JSON.stringify(job)).rejects.toMatchObject({
        code: 'QUEUE_INVALID_JOB',
      });
    }
    await expect(
      producer.sendBatch([
        { jobId: 'ok', petId: 'p' },
        { jobId: '', petId: 'p' },
      ]),
    ).rejects.toMatchObject({
      code: 'QUEUE_INVALID_JOB',
    });
    expect(await redis.exists(names.stream)).toBe(0);
    await producer.close();
    await producer.close();
    await expect(producer.send({ jobId: 'late', petId: 'p' })).rejects.toMatchObject({
      code: 'QUEUE_CLOSED',
    });
    await closeClients();
  });

  it('a failing XADD is reported as QUEUE_SEND_FAILED with the cause', async () => {
    const redis = redisClient(redisUrl);
    const names = testNames();
    await redis.set(names.stream, 'not a stream');
    const producer = createProducer({ redis, names });
    const error = await producer.send({ jobId: 'j', petId: 'p' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUEUE_SEND_FAILED' });
    expect(String((error as QueueError).cause)).toContain('WRONGTYPE');
    await redis.del(names.stream);
    await closeClients();
  });
});
