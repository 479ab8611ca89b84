import { describe, expect, inject, it } from 'vitest';
import {
  createConsumer,
  createProducer,
  isQueueError,
  type JobInput,
  QueueError,
  queueNames,
} from '../src/index.js';
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
        // Removed in the domain-free queue: reported, not silently ignored.
        parentMode: 'link',
      } as never);
    } catch (e) {
      error = e;
    }
    expect(isQueueError(error, 'QUEUE_INVALID_OPTIONS')).toBe(true);
    const message = (error as QueueError).message;
    for (const key of ['redis', 'handler', 'concurrency', 'claimIdleMs', 'backoff']) {
      expect(message).toContain(`${key}`);
    }
    expect(message).toMatch(/Unrecognized key.*parentMode/);
  });

  it('createProducer rejects a bad maxLen', () => {
    const redis = redisClient(redisUrl);
    expect(() => createProducer({ redis, maxLen: -1 })).toThrow(QueueError);
  });
});

describe('producer input', () => {
  it('send() refuses jobs without a usable id, partition key, payload or attempt, and nothing reaches the stream', async () => {
    const redis = redisClient(redisUrl);
    const names = testNames();
    const producer = createProducer({ redis, names });
    const bad: [JobInput, RegExp][] = [
      [{ jobId: '' }, /jobId: expected 1\.\.256 characters/],
      [{ jobId: 'j', partitionKey: ' padded ' }, /partitionKey: expected/],
      [{ jobId: 'j', partitionKey: 'x'.repeat(257) }, /partitionKey: expected/],
      [{ jobId: 'j', payload: 'x'.repeat(65_537) }, /payload: expected at most 65536 bytes/],
      [{ jobId: 'j', payload: '€'.repeat(21_846) }, /payload: expected at most 65536 bytes/],
      [{ jobId: 'j', payload: { a: 1 } as unknown as string }, /payload: expected a string/],
      [{ jobId: 'j', attempt: 0 }, /attempt: expected an integer >= 1/],
      [{ jobId: 'j', attempt: 1.5 }, /attempt/],
      [{ jobId: 42 as unknown as string }, /jobId/],
    ];
    for (const [job, problem] of bad) {
      const error = await producer.send(job).catch((e: unknown) => e);
      expect(error, JSON.stringify(job).slice(0, 80)).toMatchObject({ code: 'QUEUE_INVALID_JOB' });
      expect((error as Error).message).toMatch(problem);
    }
    expect(await redis.exists(names.stream)).toBe(0);
    // The largest payload allowed is accepted.
    await producer.send({ jobId: 'big', payload: 'x'.repeat(65_536) });
    expect(await redis.xlen(names.stream)).toBe(1);
    await redis.del(names.stream);
    await producer.close();
    await producer.close();
    await expect(producer.send({ jobId: 'late' })).rejects.toMatchObject({
      code: 'QUEUE_CLOSED',
    });
    await closeClients();
  });

  it('close() called twice while sends are in flight: both callers wait for them, then later sends are refused', async () => {
    const redis = redisClient(redisUrl);
    const names = testNames();
    const producer = createProducer({ redis, names });
    const sent = Promise.all([producer.send({ jobId: 'a' }), producer.send({ jobId: 'b' })]);
    const first = producer.close();
    const second = producer.close();
    expect(second).toBe(first);
    let sendsSettled = false;
    void sent.then(() => {
      sendsSettled = true;
    });
    await Promise.all([first, second]);
    expect(sendsSettled).toBe(true);
    expect(await redis.xlen(names.stream)).toBe(2);
    await expect(producer.send({ jobId: 'late' })).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
    await redis.del(names.stream);
    await closeClients();
  });

  it('a failing XADD is reported as QUEUE_SEND_FAILED with the cause', async () => {
    const redis = redisClient(redisUrl);
    const names = testNames();
    await redis.set(names.stream, 'not a stream');
    const producer = createProducer({ redis, names });
    const error = await producer.send({ jobId: 'j' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUEUE_SEND_FAILED' });
    expect(String((error as QueueError).cause)).toContain('WRONGTYPE');
    await redis.del(names.stream);
    await closeClients();
  });
});
