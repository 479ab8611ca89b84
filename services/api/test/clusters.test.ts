import { readFileSync } from 'node:fs';
import { markJobRunning, saveJobResult } from '@media-cluster/db';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_BASE } from '../src/errors.js';
import { alice, bob, type Harness, startHarness } from './harness.js';

const DEMO = new URL('../demo-photos/', import.meta.url);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('GET /v1/pets/{petId}/clusters', () => {
  it('404 until a job succeeded, then the latest clustering', async () => {
    h = await startHarness();
    const uploaded = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', readFileSync(new URL('chelsea-01.jpg', DEMO)), 'a.jpg')
      .attach('photos', readFileSync(new URL('chelsea-03.jpg', DEMO)), 'b.jpg')
      .attach('photos', readFileSync(new URL('coffee-01.jpg', DEMO)), 'c.jpg')
      .expect(201);
    const [a, b, c] = uploaded.body.photos.map((p: { id: string }) => p.id);

    const none = await request(h.app).get('/v1/pets/rex/clusters').set(alice).expect(404);
    expect(none.body.type).toBe(`${PROBLEM_BASE}not_found`);

    const job = await request(h.app).post('/v1/pets/rex/clustering-jobs').set(alice).send({}).expect(202);
    await markJobRunning(h.db, job.body.jobId, 1);
    await saveJobResult(h.db, job.body.jobId, [
      { heroPhotoId: a, photoIds: [a, b] },
      { heroPhotoId: c, photoIds: [c] },
    ]);
    const res = await request(h.app).get('/v1/pets/rex/clusters').set(alice).expect(200);
    expect(res.body).toEqual({
      jobId: job.body.jobId,
      finishedAt: expect.any(String),
      clusters: [
        { clusterId: 0, heroPhotoId: a, photoIds: [a, b], size: 2 },
        { clusterId: 1, heroPhotoId: c, photoIds: [c], size: 1 },
      ],
    });
    // The job reads as succeeded too.
    const status = await request(h.app).get(`/v1/jobs/${job.body.jobId}`).set(alice).expect(200);
    expect(status.body).toMatchObject({ status: 'succeeded', finishedAt: expect.any(String) });
  });

  it("hides another owner's pet and unknown pets alike (404), and refuses bad ids (400)", async () => {
    h = await startHarness();
    await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', readFileSync(new URL('chelsea-01.jpg', DEMO)), 'a.jpg')
      .expect(201);
    const theirs = await request(h.app).get('/v1/pets/rex/clusters').set(bob).expect(404);
    const unknown = await request(h.app).get('/v1/pets/nobody/clusters').set(bob).expect(404);
    expect(theirs.body.detail).toBe(unknown.body.detail);
    const bad = await request(h.app).get('/v1/pets/..%2F..%2Fetc/clusters').set(alice);
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe(`${PROBLEM_BASE}invalid_id`);
  });
});
