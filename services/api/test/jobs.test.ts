import { readFileSync } from 'node:fs';
import { getJob, markJobRunning } from '@media-cluster/db';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_BASE } from '../src/errors.js';
import { alice, bob, type Harness, startHarness } from './harness.js';

const DEMO = new URL('../demo-photos/', import.meta.url);
const files = ['chelsea-01.jpg', 'chelsea-03.jpg', 'coffee-01.jpg'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Uploads demo photos for `petId` as alice; returns their ids. */
async function upload(harness: Harness, petId: string, names = files, auth = alice): Promise<string[]> {
  let req = request(harness.app).post(`/v1/pets/${petId}/photos`).set(auth);
  for (const name of names) req = req.attach('photos', readFileSync(new URL(name, DEMO)), name);
  const res = await req.expect(201);
  return res.body.photos.map((p: { id: string }) => p.id);
}

async function streamEntries(harness: Harness) {
  const entries = await harness.redis.xrange(harness.stream, '-', '+');
  return entries.map(([id, fields]) => {
    const map: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
    return { id, fields: map };
  });
}

describe('POST /v1/pets/{petId}/clustering-jobs', () => {
  it('queues a job of all the pet photos: 202 + Location + Retry-After, one stream entry', async () => {
    h = await startHarness();
    const photoIds = await upload(h, 'rex');
    const res = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({}).expect(202);
    expect(res.body).toEqual({ jobId: expect.any(String), status: 'queued', traceId: null });
    expect(res.headers.location).toBe(`/v1/jobs/${res.body.jobId}`);
    expect(res.headers['retry-after']).toBe('1');
    const job = await getJob(h.db, res.body.jobId);
    expect(job).toMatchObject({ petId: 'rex', owner: 'alice', status: 'queued', callbackUrl: null });
    expect([...job!.photoIds].sort()).toEqual([...photoIds].sort());
    const entries = await streamEntries(h);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.fields).toMatchObject({ job_id: res.body.jobId, partition_key: 'rex', attempt: '1' });
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'job_created', job_id: res.body.jobId, photo_count: 3 }),
    );
  });

  it('also takes no body at all, and a chosen subset of photos with an allowed callback', async () => {
    h = await startHarness();
    const [a, , c] = await upload(h, 'rex');
    await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).expect(202);
    const res = await request(h.app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .send({ photoIds: [c, a, c], callbackUrl: 'https://hooks.example.com/done?x=1' })
      .expect(202);
    const job = await getJob(h.db, res.body.jobId);
    expect(job).toMatchObject({ photoIds: [c, a], callbackUrl: 'https://hooks.example.com/done?x=1' });
    // host:port entries match exactly that port.
    await request(h.app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .send({ callbackUrl: 'http://localhost:9999/cb' })
      .expect(202);
  });

  it('replays the same Idempotency-Key + body as the same job, and answers another body with 409', async () => {
    h = await startHarness();
    const [a] = await upload(h, 'rex');
    const send = (body: object) =>
      request(h!.app)
        .post('/v1/pets/rex/clustering-jobs')
        .set(alice)
        .set('idempotency-key', 'key-1')
        .send(body);
    const first = await send({ photoIds: [a] }).expect(202);
    const again = await send({ photoIds: [a] }).expect(202);
    expect(again.body.jobId).toBe(first.body.jobId);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await streamEntries(h)).toHaveLength(1);

    const conflict = await send({}).expect(409);
    expect(conflict.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(conflict.body).toMatchObject({
      type: `${PROBLEM_BASE}idempotency_conflict`,
      status: 409,
      jobId: first.body.jobId,
      requestId: expect.any(String),
    });
    expect(await streamEntries(h)).toHaveLength(1);
    // Keys are per owner: bob's same key on his own pet is a new job.
    await upload(h, 'fido', files.slice(0, 1), bob);
    const bobs = await request(h.app)
      .post('/v1/pets/fido/clustering-jobs')
      .set(bob)
      .set('idempotency-key', 'key-1')
      .send({})
      .expect(202);
    expect(bobs.body.jobId).not.toBe(first.body.jobId);
  });

  it('refuses callbacks outside CALLBACK_ALLOWED_HOSTS with 422 and creates nothing', async () => {
    h = await startHarness();
    await upload(h, 'rex');
    for (const callbackUrl of [
      'http://evil.example.com/x',
      'http://hooks.example.com.evil.net/x',
      'http://169.254.169.254/latest/meta-data',
      'ftp://hooks.example.com/x',
      'http://user:pass@hooks.example.com/x',
      'http://localhost:9998/cb',
      'hooks.example.com/x',
    ]) {
      const res = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({ callbackUrl });
      expect(res.status, callbackUrl).toBe(422);
      expect(res.body.type, callbackUrl).toBe(`${PROBLEM_BASE}invalid_callback_url`);
    }
    expect(await streamEntries(h)).toHaveLength(0);
  });

  it('answers bad JSON, unknown fields, wrong types, wrong content type and oversize bodies with 4xx', async () => {
    h = await startHarness({ env: { MAX_JSON_BYTES: '1024' } });
    await upload(h, 'rex');
    const post = () => request(h!.app).post('/v1/pets/rex/clustering-jobs').set(alice);
    const cases: Array<[string, request.Test, number, string]> = [
      [
        'bad json',
        post().set('content-type', 'application/json').send('{"photoIds": ['),
        400,
        'invalid_json',
      ],
      ['json string', post().set('content-type', 'application/json').send('"hello"'), 400, 'invalid_json'],
      ['unknown field', post().send({ photoIds: undefined, colour: 'red' }), 400, 'invalid_request'],
      ['array body', post().send([1, 2]), 400, 'invalid_request'],
      ['photoIds not uuids', post().send({ photoIds: ['one'] }), 400, 'invalid_request'],
      ['photoIds empty', post().send({ photoIds: [] }), 400, 'invalid_request'],
      ['callbackUrl number', post().send({ callbackUrl: 5 }), 400, 'invalid_request'],
      [
        'text body',
        post().set('content-type', 'text/plain').send('photoIds=1'),
        415,
        'unsupported_media_type',
      ],
      ['form body', post().type('form').send({ photoIds: 'x' }), 415, 'unsupported_media_type'],
      [
        'oversize',
        post().send({ callbackUrl: `http://hooks.example.com/${'x'.repeat(2_000)}` }),
        413,
        'payload_too_large',
      ],
      [
        'bad idempotency key',
        post().set('idempotency-key', 'has spaces in it').send({}),
        400,
        'invalid_idempotency_key',
      ],
      [
        'unknown photo',
        post().send({ photoIds: ['00000000-0000-4000-8000-000000000000'] }),
        422,
        'unknown_photo_ids',
      ],
    ];
    for (const [name, req, status, code] of cases) {
      const res = await req;
      expect(res.status, name).toBe(status);
      expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      expect(res.body.type, name).toBe(`${PROBLEM_BASE}${code}`);
      expect(res.body.requestId, name).toBe(res.headers['x-request-id']);
    }
    const unknown = await post().send({ colour: 'red' });
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '(body)' })]);
    expect(await streamEntries(h)).toHaveLength(0);
  });

  it('refuses a job over MAX_JOB_PHOTOS with 422 naming the limit, for listed ids and for all of a pet’s photos', async () => {
    h = await startHarness({ env: { MAX_JOB_PHOTOS: '2' } });
    const [a, b, c] = await upload(h, 'rex');
    const post = (body: object) => request(h!.app).post('/v1/pets/rex/clustering-jobs').set(alice).send(body);
    for (const [label, body, named] of [
      ['listed ids', { photoIds: [a, b, c] }, /would cluster 3\b/],
      ['all photos of the pet', {}, /all 3 photos of the pet/],
    ] as const) {
      const res = await post(body);
      expect(res.status, label).toBe(422);
      expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
      expect(res.body, label).toMatchObject({
        type: `${PROBLEM_BASE}too_many_photos`,
        status: 422,
        limit: 2,
      });
      expect(res.body.detail, label).toMatch(/at most 2 photos \(MAX_JOB_PHOTOS\)/);
      expect(res.body.detail, label).toMatch(named);
    }
    expect(await streamEntries(h)).toHaveLength(0);
    // At the limit (duplicates count once) it is accepted.
    await post({ photoIds: [a, b, a] }).expect(202);
    expect(await streamEntries(h)).toHaveLength(1);
  });

  it("refuses photos of another pet, an unknown pet, and another owner's pet", async () => {
    h = await startHarness();
    const [rexPhoto] = await upload(h, 'rex');
    await upload(h, 'max', ['coffee-01.jpg']);
    const other = await request(h.app)
      .post('/v1/pets/max/clustering-jobs')
      .set(alice)
      .send({ photoIds: [rexPhoto] })
      .expect(422);
    expect(other.body).toMatchObject({ type: `${PROBLEM_BASE}unknown_photo_ids`, photoIds: [rexPhoto] });
    const unknown = await request(h.app)
      .post('/v1/pets/nobody/clustering-jobs')
      .set(alice)
      .send({})
      .expect(404);
    expect(unknown.body.type).toBe(`${PROBLEM_BASE}not_found`);
    const notOwner = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(bob).send({}).expect(404);
    // Indistinguishable from an unknown pet.
    expect(notOwner.body.detail).toBe(unknown.body.detail);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'security_violation', reason: 'not_owner' }),
    );
  });
});

describe('GET /v1/jobs/{jobId}', () => {
  it('returns the status with an ETag; If-None-Match answers 304 until the job changes', async () => {
    h = await startHarness();
    await upload(h, 'rex');
    const created = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({}).expect(202);
    const path = created.headers.location!;

    const first = await request(h.app).get(path).set(alice).expect(200);
    expect(first.body).toEqual({
      jobId: created.body.jobId,
      petId: 'rex',
      status: 'queued',
      attempts: 0,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      startedAt: null,
      finishedAt: null,
      error: null,
      traceId: null,
    });
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[^"]+"$/);

    const notModified = await request(h.app).get(path).set(alice).set('if-none-match', etag).expect(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    await request(h.app).get(path).set(alice).set('if-none-match', `"other", W/${etag}`).expect(304);

    await markJobRunning(h.db, created.body.jobId, 1);
    const changed = await request(h.app).get(path).set(alice).set('if-none-match', etag).expect(200);
    expect(changed.body).toMatchObject({ status: 'running', attempts: 1, startedAt: expect.any(String) });
    expect(changed.headers.etag).not.toBe(etag);
  });

  it("answers another owner's job, unknown jobs and non-ids with 404/400 problems", async () => {
    h = await startHarness();
    await upload(h, 'rex');
    const created = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({}).expect(202);
    const theirs = await request(h.app).get(created.headers.location!).set(bob).expect(404);
    const unknown = await request(h.app)
      .get('/v1/jobs/00000000-0000-4000-8000-000000000000')
      .set(alice)
      .expect(404);
    expect(theirs.body).toMatchObject({ type: `${PROBLEM_BASE}not_found`, detail: unknown.body.detail });
    for (const bad of ['nope', '1234', `${created.body.jobId}x`, '%E0%A4%A']) {
      const res = await request(h.app).get(`/v1/jobs/${bad}`).set(alice);
      expect(res.status, bad).toBe(400);
      expect(res.headers['content-type'], bad).toMatch(/^application\/problem\+json/);
    }
  });
});
