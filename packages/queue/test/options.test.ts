import { describe, expect, it } from 'vitest';
import {
  createConsumer,
  createProducer,
  isQueueError,
  type JobInput,
  QueueError,
  queueNames,
  shardFor,
  slotOf,
} from '../src/index.js';
import { BACKENDS, closeClients, keysOf, testNames } from './support.js';

describe('queueNames', () => {
  it('builds every name from one prefix; every key of a shard carries its hash tag', () => {
    expect(queueNames()).toEqual({
      prefix: 'media-cluster',
      destination: 'media-cluster:jobs',
      group: 'media-cluster-workers',
      shards: [
        {
          index: 0,
          tag: 'media-cluster',
          stream: '{media-cluster}:jobs',
          dlq: '{media-cluster}:jobs:dlq',
          delayed: '{media-cluster}:jobs:delayed',
        },
      ],
    });
    expect(keysOf(queueNames('staging')).stream).toBe('{staging}:jobs');
    expect(() => queueNames('')).toThrow(TypeError);
    expect(() => queueNames('a b')).toThrow(/without spaces/);
    expect(() => queueNames('a{b}')).toThrow(/braces/);
    expect(() => queueNames('q', { shards: 0 })).toThrow(/shards/);
    expect(() => queueNames('q', { shards: 65 })).toThrow(/shards/);
  });

  it('shards get their own tags, spread over the slot space (one per third with 3 shards), the same in every process', () => {
    const names = queueNames('media-cluster', { shards: 3 });
    expect(names.destination).toBe('media-cluster:jobs');
    expect(names.shards.map((s) => s.index)).toEqual([0, 1, 2]);
    names.shards.forEach((shard, i) => {
      expect(shard.stream).toBe(`{${shard.tag}}:jobs`);
      expect(shard.dlq).toBe(`{${shard.tag}}:jobs:dlq`);
      expect(shard.delayed).toBe(`{${shard.tag}}:jobs:delayed`);
      expect(shard.tag).toMatch(new RegExp(`^media-cluster:${i}(\\.\\d+)?$`));
      const slot = slotOf(shard.tag);
      expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16_384) / 3));
      expect(slot).toBeLessThan(Math.floor(((i + 1) * 16_384) / 3));
    });
    expect(queueNames('media-cluster', { shards: 3 })).toEqual(names);
  });

  it('a partition key always maps to the same shard; jobs without one are spread round robin', () => {
    const names = queueNames('q', { shards: 4 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const shard = shardFor(names, `pet-${i}`, 0);
      expect(shardFor(names, `pet-${i}`, 7)).toBe(shard);
      counts[shard.index] = (counts[shard.index] ?? 0) + 1;
    }
    // CRC16 spreads keys: every shard gets a fair part.
    for (const n of counts) expect(n).toBeGreaterThan(60);
    expect([0, 1, 2, 3, 4].map((i) => shardFor(names, undefined, i).index)).toEqual([0, 1, 2, 3, 0]);
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
        metrics: { prefix: 'media-cluster', secondsBuckets: [1, 0.5] },
      } as never);
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
    expect(message).toMatch(/Unrecognized key.*parentMode/);
  });

  it('createProducer rejects a bad maxLen, replicas or names', () => {
    const redis = BACKENDS[0]!.client();
    expect(() => createProducer({ redis, maxLen: -1 })).toThrow(QueueError);
    expect(() => createProducer({ redis, replicas: -1 })).toThrow(/replicas/);
    expect(() => createProducer({ redis, names: { group: 'g' } as never })).toThrow(/names\.shards/);
  });
});

describe.each(BACKENDS)('producer input (on $name)', (backend) => {
  it('send() refuses jobs without a usable id, partition key, payload or attempt, and nothing reaches the stream', async () => {
    const redis = backend.client();
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
    expect(await redis.exists(keysOf(names).stream)).toBe(0);
    // The largest payload allowed is accepted.
    await producer.send({ jobId: 'big', payload: 'x'.repeat(65_536) });
    expect(await redis.xlen(keysOf(names).stream)).toBe(1);
    await redis.del(keysOf(names).stream);
    await producer.close();
    await producer.close();
    await expect(producer.send({ jobId: 'late' })).rejects.toMatchObject({
      code: 'QUEUE_CLOSED',
    });
    await closeClients();
  });

  it('close() called twice while sends are in flight: both callers wait for them, then later sends are refused', async () => {
    const redis = backend.client();
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
    expect(await redis.xlen(keysOf(names).stream)).toBe(2);
    await expect(producer.send({ jobId: 'late' })).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
    await redis.del(keysOf(names).stream);
    await closeClients();
  });

  it('a failing XADD is reported as QUEUE_SEND_FAILED with the cause', async () => {
    const redis = backend.client();
    const names = testNames();
    await redis.set(keysOf(names).stream, 'not a stream');
    const producer = createProducer({ redis, names });
    const error = await producer.send({ jobId: 'j' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUEUE_SEND_FAILED' });
    expect(String((error as QueueError).cause)).toContain('WRONGTYPE');
    await redis.del(keysOf(names).stream);
    await closeClients();
  });
});
