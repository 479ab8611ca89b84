// Per-owner write limits and the failed-authentication limit per client address,
// as token buckets in real Redis. Limits shared by several api processes:
// e2e/reliability/overload.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { getPhotos } from '@media-cluster/db';
import { waitFor } from '@media-cluster/testkit';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { PROBLEM_BASE } from '../src/errors.js';
import { normalizeAddress } from '../src/overload/client-address.js';
import { createRateLimiter, rateLimitsFromConfig } from '../src/overload/rate-limiter.js';
import { alice, bob, type Harness, startHarness } from './harness.js';
import { metricsUnderTest } from './metrics-reader.js';

const DEMO = new URL('../demo-photos/', import.meta.url);
const photo = (name: string) => readFileSync(new URL(name, DEMO));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function upload(harness: Harness, petId: string, name: string, auth = alice) {
  return request(harness.app).post(`/v1/pets/${petId}/photos`).set(auth).attach('photos', photo(name), name);
}

/** Every blob file under PHOTO_DIR. */
function blobFiles(harness: Harness): string[] {
  return readdirSync(harness.config.PHOTO_DIR, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

async function jobRows(harness: Harness, owner: string): Promise<number> {
  const { rows } = await harness.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM jobs WHERE owner = $1',
    [owner],
  );
  return rows[0]!.n;
}

/** The 429 shape every limit answers with: problem+json, Retry-After in whole seconds matching the body. */
function expect429(res: request.Response, code: string, reason: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: `${PROBLEM_BASE}${code}`,
    status: 429,
    code,
    reason,
    limit: expect.any(String),
    burst: expect.any(Number),
    retryAfterSeconds: expect.any(Number),
    requestId: expect.any(String),
  });
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(res.headers['retry-after'])).toBe(res.body.retryAfterSeconds);
  expect(res.body.retryAfterSeconds).toBeGreaterThanOrEqual(1);
}

describe('per-owner write limits', () => {
  it('job creation over the owner limit: 429 with Retry-After, nothing written; other owners go on', async () => {
    h = await startHarness({ env: { RATE_LIMIT_JOBS: '1/min', RATE_LIMIT_JOBS_BURST: '3' } });
    const { metrics, read } = metricsUnderTest();
    const app = createApp({ ...h.deps, metrics });
    await upload(h, 'rex', 'chelsea-01.jpg').expect(201);
    await upload(h, 'fido', 'coffee-01.jpg', bob).expect(201);
    for (let i = 0; i < 3; i++)
      await request(app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);

    const refused = await request(app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'refused-1')
      .send({});
    expect429(refused, 'rate_limited', 'jobs');
    expect(refused.body).toMatchObject({ limit: '1/min', burst: 3 });
    // An empty bucket refilling one token a minute: the next one fits in about 60 s.
    expect(refused.body.retryAfterSeconds).toBeGreaterThan(50);
    expect(refused.body.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.body.detail).toMatch(/1\/min job creations/);

    expect(await jobRows(h, 'alice')).toBe(3);
    expect(await h.redis.xlen(h.stream)).toBe(3);
    // The refused Idempotency-Key was never recorded: once allowed, it makes a new job.
    const { rows } = await h.db.query('SELECT 1 FROM jobs WHERE idempotency_key = $1', ['refused-1']);
    expect(rows).toHaveLength(0);

    await request(app).post('/v1/pets/fido/clustering-jobs').set(bob).expect(202);
    // Reads are never limited.
    await request(app).get('/v1/pets/rex/clusters').set(alice).expect(404);
    expect(await read('media_cluster_rate_limited', { reason: 'jobs' })).toBe(1);
    expect(await read('media_cluster_rate_limited', { reason: 'uploads' })).toBe(0);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'rate_limited', reason: 'jobs', owner: 'alice' }),
    );
  });

  it('uploads over the owner limit: 429 before the body is read, no photo row, no blob', async () => {
    h = await startHarness({ env: { RATE_LIMIT_UPLOADS: '1/h', RATE_LIMIT_UPLOADS_BURST: '1' } });
    await upload(h, 'rex', 'chelsea-01.jpg').expect(201);
    const before = blobFiles(h);
    expect(before).toHaveLength(1);

    const refused = await upload(h, 'rex', 'coffee-01.jpg');
    expect429(refused, 'rate_limited', 'uploads');
    expect(refused.body.limit).toBe('1/h');
    // Retry-After is the bucket's wait (an hour here), never more than the header can say honestly.
    expect(refused.body.retryAfterSeconds).toBeGreaterThan(3_000);
    expect(await getPhotos(h.db, 'rex')).toHaveLength(1);
    expect(blobFiles(h)).toEqual(before);
    // Another owner has a bucket of its own.
    await upload(h, 'fido', 'coffee-01.jpg', bob).expect(201);
  });

  it('tokens refill: a refused owner is let in again once Retry-After has passed', async () => {
    h = await startHarness({ env: { RATE_LIMIT_JOBS: '5/s', RATE_LIMIT_JOBS_BURST: '1' } });
    await upload(h, 'rex', 'chelsea-01.jpg').expect(201);
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    const refused = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice);
    expect429(refused, 'rate_limited', 'jobs');
    // 200 ms to the next token, rounded up to the header's whole second.
    expect(refused.body.retryAfterSeconds).toBe(1);
    const started = Date.now();
    await waitFor(
      async () => (await request(h!.app).post('/v1/pets/rex/clustering-jobs').set(alice)).status === 202,
      { timeoutMs: 2_000, intervalMs: 50, what: 'a token to refill' },
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('failed authentications per client address', () => {
  const env = {
    RATE_LIMIT_AUTH_FAILURES: '1/min',
    RATE_LIMIT_AUTH_FAILURES_BURST: '3',
    TRUST_PROXY: 'loopback',
  };
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const wrong = { authorization: 'Bearer not-a-real-key-123' };

  it('401 until the address has spent its tokens, then 429 for every request from it, valid keys included', async () => {
    h = await startHarness({ env });
    const { metrics, read } = metricsUnderTest();
    const app = createApp({ ...h.deps, metrics });
    const attacker = from('203.0.113.5');
    for (let i = 0; i < 3; i++) {
      await request(app)
        .get('/v1/pets/rex/clusters')
        .set(i === 0 ? {} : wrong)
        .set(attacker)
        .expect(401);
    }
    const blocked = await request(app).get('/v1/pets/rex/clusters').set(wrong).set(attacker);
    expect429(blocked, 'too_many_auth_failures', 'auth_failures');
    expect(blocked.body).toMatchObject({ limit: '1/min', burst: 3 });
    // A valid key gets the same answer from that address: the answer says nothing about the key.
    const guessed = await request(app).get('/v1/pets/rex/clusters').set(alice).set(attacker);
    expect429(guessed, 'too_many_auth_failures', 'auth_failures');
    expect(Object.keys(guessed.body).sort()).toEqual(Object.keys(blocked.body).sort());
    const writes = await request(app).post('/v1/pets/rex/clustering-jobs').set(alice).set(attacker);
    expect429(writes, 'too_many_auth_failures', 'auth_failures');
    expect(await jobRows(h, 'alice')).toBe(0);

    // Other addresses, and the direct (loopback) client, are not affected.
    await request(app).get('/v1/pets/rex/clusters').set(alice).set(from('203.0.113.6')).expect(404);
    await request(app).get('/v1/pets/rex/clusters').set(wrong).set(from('203.0.113.6')).expect(401);
    await request(app).get('/v1/pets/rex/clusters').set(alice).expect(404);

    expect(await read('media_cluster_rate_limited', { reason: 'auth_failures' })).toBe(3);
    expect(await read('media_cluster_auth_failures', { reason: 'invalid_key' })).toBe(4);
    expect(await read('media_cluster_auth_failures', { reason: 'missing_key' })).toBe(1);
    // The refused valid key is not named in the logs either.
    const lines = h.logs.filter((l) => l.event === 'rate_limited');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.owner).toBeUndefined();
  });

  it('counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4', async () => {
    h = await startHarness({ env });
    for (let i = 1; i <= 3; i++) {
      await request(h.app)
        .get('/v1/pets/rex/clusters')
        .set(wrong)
        .set(from(`2001:db8:0:7::${i}`))
        .expect(401);
    }
    const sameSlash64 = await request(h.app)
      .get('/v1/pets/rex/clusters')
      .set(wrong)
      .set(from('2001:db8::7:ffff:ffff:ffff:ffff'));
    expect(sameSlash64.status).toBe(429);
    await request(h.app).get('/v1/pets/rex/clusters').set(wrong).set(from('2001:db8:0:8::1')).expect(401);
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('2001:DB8:0:7:0:0:0:1')).toBe('2001:db8:0:7::/64');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: the socket address counts', async () => {
    h = await startHarness({
      env: { RATE_LIMIT_AUTH_FAILURES: '1/min', RATE_LIMIT_AUTH_FAILURES_BURST: '2' },
    });
    for (const address of ['198.51.100.1', '198.51.100.2']) {
      await request(h.app).get('/v1/pets/rex/clusters').set(wrong).set(from(address)).expect(401);
    }
    const res = await request(h.app).get('/v1/pets/rex/clusters').set(alice).set(from('198.51.100.3'));
    expect(res.status).toBe(429);
  });
});

describe('the buckets in Redis', () => {
  it('share one hash tag (one Cluster slot), and expire once they would be full again', async () => {
    h = await startHarness({ env: { RATE_LIMIT_JOBS: '10/s', RATE_LIMIT_JOBS_BURST: '20' } });
    await upload(h, 'rex', 'chelsea-01.jpg').expect(201);
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    await request(h.app).get('/v1/pets/rex/clusters').set({ authorization: 'Bearer nope-nope-nope' });
    const tag = `{${h.prefix}:ratelimit}`;
    const keys = (await h.redis.keys(`${tag.replace(/[{}]/g, '\\$&')}:*`)).sort();
    expect(keys).toEqual(
      [`${tag}:auth-failures:127.0.0.1`, `${tag}:jobs:alice`, `${tag}:uploads:alice`].sort(),
    );
    for (const key of keys) {
      const ttl = await h.redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      // jobs: 1 token short of 20 at 10/s refills in 100 ms (+1 s); uploads/auth: by their defaults.
      expect(ttl, key).toBeLessThanOrEqual(key.includes(':jobs:') ? 1_100 : 3_000);
    }
    await h.redis.del(...keys);
  });

  it('when Redis cannot answer, requests go through and one warning says so', async () => {
    h = await startHarness({ env: { RATE_LIMIT_JOBS: '1/h', RATE_LIMIT_JOBS_BURST: '1' } });
    await upload(h, 'rex', 'chelsea-01.jpg').expect(201);
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    const limiter = createRateLimiter({
      redis: down,
      prefix: h.prefix,
      limits: rateLimitsFromConfig(h.config),
      logger: h.deps.logger,
    });
    const app = createApp({ ...h.deps, rateLimiter: limiter });
    for (let i = 0; i < 3; i++)
      await request(app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    await request(app)
      .get('/v1/pets/rex/clusters')
      .set({ authorization: 'Bearer nope-nope-nope' })
      .expect(401);
    expect(h.logs.filter((l) => l.event === 'rate_limiter_unavailable')).toHaveLength(1);
    down.disconnect();
  });
});
