// Backpressure on job creation: the backlog read from real Redis (XINFO GROUPS +
// ZCARD by the queue's names), the 503 answer, and that a refused request
// leaves nothing behind. Several api processes: e2e/reliability/overload.test.ts.
import { readFileSync } from 'node:fs';
import { type QueueNames, queueNames } from '@media-cluster/queue';
import { uniqueName, waitFor } from '@media-cluster/testkit';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../src/app.js';
import { PROBLEM_BASE } from '../src/errors.js';
import { observeBacklog } from '../src/metrics.js';
import { readBacklog } from '../src/overload/backlog.js';
import {
  createBackpressure,
  RETRY_AFTER_MAX_S,
  RETRY_AFTER_MIN_S,
  retryAfterSeconds,
} from '../src/overload/backpressure.js';
import { alice, type Harness, startHarness } from './harness.js';
import { metricsUnderTest } from './metrics-reader.js';

const PHOTO = readFileSync(new URL('../demo-photos/chelsea-01.jpg', import.meta.url));

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
});
afterAll(() => redis.disconnect());

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A fresh queue with `count` entries on its stream. */
async function queueWith(count: number): Promise<QueueNames> {
  const names = queueNames(uniqueName('backlog-test'));
  for (let i = 0; i < count; i++) await redis.xadd(names.shards[0]!.stream, '*', 'job_id', `job-${i}`);
  return names;
}

/** What a worker does: read `count` entries into the group, ack `ack` of them. */
async function consume(names: QueueNames, count: number, ack: number): Promise<void> {
  const reply = (await redis.xreadgroup(
    'GROUP',
    names.group,
    'test-consumer',
    'COUNT',
    count,
    'STREAMS',
    names.shards[0]!.stream,
    '>',
  )) as [string, [string, string[]][]][] | null;
  const ids = (reply?.[0]?.[1] ?? []).map(([id]) => id);
  if (ack > 0) await redis.xack(names.shards[0]!.stream, names.group, ...ids.slice(0, ack));
}

const cleanup = (names: QueueNames) => redis.del(names.shards[0]!.stream, names.shards[0]!.delayed);

describe('readBacklog', () => {
  it('counts undelivered, delivered-but-unacked and delayed retries, group-wide', async () => {
    const names = await queueWith(0);
    expect(await readBacklog(redis, names)).toEqual({
      backlog: 0,
      pending: 0,
      lag: 0,
      delayed: 0,
      acked: undefined,
    });
    for (let i = 0; i < 5; i++) await redis.xadd(names.shards[0]!.stream, '*', 'job_id', `job-${i}`);
    // No worker yet: the group will start at the first entry, so all of them wait.
    expect(await readBacklog(redis, names)).toMatchObject({ backlog: 5, lag: 5, pending: 0 });

    await redis.xgroup('CREATE', names.shards[0]!.stream, names.group, '0');
    await consume(names, 3, 1);
    await redis.zadd(names.shards[0]!.delayed, Date.now() + 60_000, '{"id":"x","f":[]}');
    expect(await readBacklog(redis, names)).toEqual({
      backlog: 2 + 2 + 1,
      pending: 2,
      lag: 2,
      delayed: 1,
      acked: 1,
    });
    await cleanup(names);
  });

  it('counts the undelivered entries itself when Redis cannot tell the lag (an entry XDELed)', async () => {
    const names = await queueWith(6);
    await redis.xgroup('CREATE', names.shards[0]!.stream, names.group, '0');
    await consume(names, 2, 2);
    const rest = await redis.xrange(names.shards[0]!.stream, '-', '+');
    await redis.xdel(names.shards[0]!.stream, rest[3]![0]);
    const groups = (await redis.xinfo('GROUPS', names.shards[0]!.stream)) as unknown[][];
    expect(groups[0]![groups[0]!.indexOf('lag') + 1]).toBeNull();
    expect(await readBacklog(redis, names)).toMatchObject({ backlog: 3, lag: 3, pending: 0 });
    expect((await readBacklog(redis, names, { countLimit: 2 })).lag).toBe(2);
    await cleanup(names);
  });
});

describe('retryAfterSeconds', () => {
  it('is the time the measured drain needs to take the backlog a tenth under the ceiling, within 1..60 s', () => {
    // 120 over a ceiling of 1000 plus 100 headroom, draining 20/s: 11 s, stretched by up to a quarter.
    expect(retryAfterSeconds(1_120, 1_000, 20, 0)).toBe(11);
    expect(retryAfterSeconds(1_120, 1_000, 20, 1)).toBe(14);
    expect(retryAfterSeconds(1_000, 1_000, 1_000, 0)).toBe(RETRY_AFTER_MIN_S);
    expect(retryAfterSeconds(5_000, 1_000, 2, 0)).toBe(RETRY_AFTER_MAX_S);
    // Nothing draining (no worker, or not measured yet): the longest wait.
    expect(retryAfterSeconds(1_001, 1_000, undefined, 0)).toBe(RETRY_AFTER_MAX_S);
    expect(retryAfterSeconds(1_001, 1_000, 0, 0)).toBe(RETRY_AFTER_MAX_S);
  });
});

describe('createBackpressure', () => {
  it('measures the drain rate from successive readings and derives Retry-After from it', async () => {
    const names = await queueWith(20);
    await redis.xgroup('CREATE', names.shards[0]!.stream, names.group, '0');
    // A worker has started (a group that has read nothing yet cannot tell entries-read).
    await consume(names, 1, 1);
    let clock = 1_000_000;
    const bp = createBackpressure({
      redis,
      names,
      ceiling: 10,
      cacheMs: 100,
      logger: (await import('../src/logger.js')).createPinoLogger({ level: 'silent' }),
      now: () => clock,
      random: () => 0,
    });
    const first = await bp.admit();
    expect(first).toMatchObject({ admitted: false, backlog: 19, ceiling: 10, drainPerSecond: undefined });
    expect(first.admitted === false && first.retryAfterSeconds).toBe(RETRY_AFTER_MAX_S);

    // Two seconds later a worker has finished 4 jobs: 2 per second.
    await consume(names, 5, 4);
    clock += 2_000;
    const second = await bp.admit();
    expect(second).toMatchObject({ admitted: false, backlog: 15, drainPerSecond: 2 });
    // (15 - 10 + 1) / 2 = 3 s.
    expect(second.admitted === false && second.retryAfterSeconds).toBe(3);
    await cleanup(names);
  });

  it('reads Redis once per cache interval, not once per request; requests arriving meanwhile share the read', async () => {
    const names = await queueWith(0);
    let reads = 0;
    const counting = {
      status: 'ready',
      xinfo: ((...args: Parameters<Redis['xinfo']>) => {
        reads++;
        return redis.xinfo(...args);
      }) as Redis['xinfo'],
      zcard: redis.zcard.bind(redis),
      xlen: redis.xlen.bind(redis),
      xrange: redis.xrange.bind(redis),
    };
    let clock = 0;
    const bp = createBackpressure({
      redis: counting,
      names,
      ceiling: 1_000,
      cacheMs: 250,
      logger: (await import('../src/logger.js')).createPinoLogger({ level: 'silent' }),
      now: () => clock,
    });
    // 100 admissions within one interval: one read.
    for (let i = 0; i < 100; i++) {
      const result = await bp.admit();
      expect(result.admitted).toBe(true);
      if (result.admitted) result.admission.release();
    }
    expect(reads).toBe(1);
    // Once stale, 20 concurrent admissions wait for one new read between them.
    clock += 300;
    const results = await Promise.all(Array.from({ length: 20 }, () => bp.admit()));
    expect(results.every((r) => r.admitted)).toBe(true);
    expect(reads).toBe(2);
    await cleanup(names);
  });
});

describe('POST /v1/pets/{petId}/clustering-jobs under backpressure', () => {
  async function fill(harness: Harness, count: number): Promise<string[]> {
    await request(harness.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', PHOTO, 'a.jpg')
      .expect(201);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await request(harness.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
      ids.push(res.body.jobId);
    }
    return ids;
  }

  it('refuses at the ceiling with 503 problem+json and Retry-After, writes nothing, and never sheds reads', async () => {
    h = await startHarness({ env: { JOB_BACKLOG_CEILING: '3', BACKLOG_CACHE_MS: '50' } });
    const { meter, metrics, read } = metricsUnderTest();
    const app = createApp({ ...h.deps, metrics });
    const stop = observeBacklog(h.deps.backpressure!, meter);
    const [jobId] = await fill(h, 3);

    const refused = await request(app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'shed-1')
      .send({ callbackUrl: 'https://hooks.example.com/x' });
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toEqual({
      type: `${PROBLEM_BASE}queue_full`,
      title: 'The job queue is full',
      status: 503,
      code: 'queue_full',
      detail: expect.stringMatching(/holds 3 jobs, its ceiling is 3; try again in 60 s/),
      backlog: 3,
      ceiling: 3,
      // No worker has read the stream yet: nothing drains, so the longest wait.
      drainPerSecond: null,
      retryAfterSeconds: 60,
      instance: '/v1/pets/rex/clustering-jobs',
      requestId: expect.any(String),
    });
    expect(refused.headers['retry-after']).toBe('60');

    // Nothing of the refused request exists: no row, no stream entry, no idempotency record.
    const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0]!.n).toBe(3);
    expect(await h.redis.xlen(h.stream)).toBe(3);
    const replay = await h.db.query('SELECT 1 FROM jobs WHERE idempotency_key = $1', ['shed-1']);
    expect(replay.rows).toHaveLength(0);

    // Reads, health and readiness answer as usual.
    await request(app).get(`/v1/jobs/${jobId}`).set(alice).expect(200);
    await request(app).get('/v1/pets/rex/clusters').set(alice).expect(404);
    await request(app).get('/health').expect(200);
    await request(app).get('/ready').expect(200);

    expect(await read('media_cluster_jobs_shed')).toBe(1);
    expect(await read('media_cluster_job_backlog')).toBe(3);
    expect(await read('media_cluster_job_backlog_ceiling')).toBe(3);
    expect(h.logs).toContainEqual(expect.objectContaining({ event: 'job_shed', backlog: 3, ceiling: 3 }));

    // A worker takes two jobs and finishes them: there is room again.
    await h.redis.xgroup('CREATE', h.stream, h.names.group, '0');
    await consume(h.names, 2, 2);
    await waitFor(
      async () => (await request(app).post('/v1/pets/rex/clustering-jobs').set(alice)).status === 202,
      { timeoutMs: 5_000, intervalMs: 50, what: 'job creation to be admitted again' },
    );
    // The gauge follows at its next reading: one entry left plus the new one.
    await waitFor(async () => (await read('media_cluster_job_backlog')) === 2, {
      timeoutMs: 2_000,
      what: 'the backlog gauge to read 2',
    });
    stop();
  });

  it('a burst of concurrent creations stops exactly at the ceiling', async () => {
    h = await startHarness({ env: { JOB_BACKLOG_CEILING: '5', BACKLOG_CACHE_MS: '60000' } });
    await fill(h, 0);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => request(h!.app).post('/v1/pets/rex/clustering-jobs').set(alice)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 503)).toHaveLength(15);
    expect(await h.redis.xlen(h.stream)).toBe(5);
    const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0]!.n).toBe(5);
  });

  it('requests refused for another reason give their place back', async () => {
    h = await startHarness({ env: { JOB_BACKLOG_CEILING: '2', BACKLOG_CACHE_MS: '60000' } });
    await fill(h, 0);
    // Invalid bodies and unknown pets are admitted, then refused: they must not hold a place.
    for (let i = 0; i < 5; i++) {
      await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({ photoIds: [] }).expect(400);
      await request(h.app).post('/v1/pets/nobody/clustering-jobs').set(alice).expect(404);
    }
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(503);
  });
});
