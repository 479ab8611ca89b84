import { readFileSync } from 'node:fs';
import { type ServiceHandle, startPostgres, startRedis } from '@media-cluster/testkit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_BASE } from '../src/errors.js';
import { alice, type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
let redis: ServiceHandle | undefined;
let postgres: ServiceHandle | undefined;
afterEach(async () => {
  await h?.close();
  await redis?.stop();
  await postgres?.stop();
  h = undefined;
  redis = undefined;
  postgres = undefined;
});

describe('/health and /ready', () => {
  it('are 200 when Redis, Postgres and the migrations are there', async () => {
    h = await startHarness();
    expect((await request(h.app).get('/health').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await request(h.app).get('/ready').expect(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { redis: 'ok', postgres: 'ok', migrations: 'ok' },
    });
  });

  it('/ready is 503 naming pending migrations', async () => {
    h = await startHarness({ migrated: false });
    const res = await request(h.app).get('/ready').expect(503);
    expect(res.body).toMatchObject({ status: 'unavailable', failed: ['migrations'] });
  });

  it('/ready is 503 naming Redis once it is killed, /health stays 200, and job creation answers 503', async () => {
    redis = await startRedis({ appendOnly: false });
    h = await startHarness({ redisUrl: redis.url });
    await request(h.app).get('/ready').expect(200);
    await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', readFileSync(new URL('../demo-photos/chelsea-01.jpg', import.meta.url)), 'a.jpg')
      .expect(201);

    await redis.kill();
    const res = await request(h.app).get('/ready').expect(503);
    expect(res.body).toMatchObject({ status: 'unavailable', failed: ['redis'], checks: { postgres: 'ok' } });
    await request(h.app).get('/health').expect(200);

    const job = await request(h.app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'while-down')
      .send({});
    expect(job.status).toBe(503);
    expect(job.body.type).toBe(`${PROBLEM_BASE}queue_unavailable`);
    // No queued job was left behind for nobody to run.
    const { rows } = await h.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);

    // Back up: the same key now creates the job.
    await redis.restart();
    await h.redis.ping();
    await request(h.app).get('/ready').expect(200);
    await request(h.app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'while-down')
      .send({})
      .expect(202);
  });

  it('/ready is 503 naming Postgres once it is killed, and requests needing it answer 503 problems', async () => {
    postgres = await startPostgres();
    h = await startHarness({ databaseUrl: postgres.url });
    await request(h.app).get('/ready').expect(200);
    await postgres.kill();
    const res = await request(h.app).get('/ready').expect(503);
    expect(res.body.failed).toEqual(expect.arrayContaining(['postgres', 'migrations']));
    expect(res.body.checks.redis).toBe('ok');
    const job = await request(h.app).get('/v1/jobs/00000000-0000-4000-8000-000000000000').set(alice);
    expect(job.status).toBe(503);
    expect(job.body.type).toBe(`${PROBLEM_BASE}database_unavailable`);
    await request(h.app).get('/health').expect(200);
    // Back up: served again without a restart of the app.
    await postgres.restart();
    await request(h.app).get('/v1/jobs/00000000-0000-4000-8000-000000000000').set(alice).expect(404);
  });

  it('/ready is 503 when no Redis client was given', async () => {
    h = await startHarness({ readyRedis: null });
    const res = await request(h.app).get('/ready').expect(503);
    expect(res.body.checks.redis).toBe('not_configured');
  });
});
