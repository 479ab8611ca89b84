import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createJob,
  deleteQueuedJob,
  ensurePetOwner,
  getJob,
  getJobClusters,
  getLatestClusters,
  getPetOwner,
  getPhotos,
  getPhotosForJob,
  insertPhotos,
  isDbError,
  listPhotoIds,
  markJobFailed,
  markJobRunning,
  recordWebhookOutcome,
  saveJobResult,
  startJobAttempt,
  withTransaction,
} from '../src/index.js';
import { fakePhoto, openTestDb, type TestDb } from './helpers.js';

let db: TestDb;
beforeEach(async () => {
  db = await openTestDb();
});
afterEach(async () => {
  await db.close();
});

async function petWithPhotos(count: number, petId = `pet-${randomUUID()}`, owner = 'alice') {
  await ensurePetOwner(db.pool, petId, owner);
  const photos = await insertPhotos(
    db.pool,
    petId,
    Array.from({ length: count }, () => fakePhoto()),
  );
  return { petId, owner, photoIds: photos.map((p) => p.id) };
}

describe('pets', () => {
  it('gives a pet to its first uploader and refuses others', async () => {
    expect(await getPetOwner(db.pool, 'rex')).toBeNull();
    expect(await ensurePetOwner(db.pool, 'rex', 'alice')).toBe('created');
    expect(await ensurePetOwner(db.pool, 'rex', 'alice')).toBe('owned');
    expect(await ensurePetOwner(db.pool, 'rex', 'bob')).toBe('not_owner');
    expect(await getPetOwner(db.pool, 'rex')).toBe('alice');
  });

  it('has exactly one winner when two owners claim a new pet at once', async () => {
    const results = await Promise.all(
      ['alice', 'bob', 'carol'].map((o) => ensurePetOwner(db.pool, 'fido', o)),
    );
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(results.filter((r) => r === 'not_owner')).toHaveLength(2);
  });
});

describe('photos', () => {
  it('stores photos idempotently per (pet, sha256), in input order', async () => {
    await ensurePetOwner(db.pool, 'rex', 'alice');
    const a = fakePhoto('a');
    const b = fakePhoto('b');
    const first = await insertPhotos(db.pool, 'rex', [a, b, a]);
    expect(first.map((p) => p.sha256)).toEqual([a.sha256, b.sha256, a.sha256]);
    expect(first.map((p) => p.created)).toEqual([true, true, false]);
    expect(first[0]!.id).toBe(first[2]!.id);
    expect(first[0]).toMatchObject({
      petId: 'rex',
      width: 640,
      height: 480,
      bytes: 1234,
      contentType: 'image/jpeg',
    });

    const again = await insertPhotos(db.pool, 'rex', [b]);
    expect(again[0]).toMatchObject({ id: first[1]!.id, created: false });
    expect(await listPhotoIds(db.pool, 'rex')).toHaveLength(2);
  });

  it('keeps the same bytes of different pets apart', async () => {
    await ensurePetOwner(db.pool, 'rex', 'alice');
    await ensurePetOwner(db.pool, 'fido', 'alice');
    const same = fakePhoto('same');
    const [rex] = await insertPhotos(db.pool, 'rex', [same]);
    const [fido] = await insertPhotos(db.pool, 'fido', [same]);
    expect(rex!.id).not.toBe(fido!.id);
    expect(fido!.created).toBe(true);
  });

  it('never duplicates a photo under concurrent uploads of the same bytes', async () => {
    await ensurePetOwner(db.pool, 'rex', 'alice');
    const photo = fakePhoto();
    const results = await Promise.all([1, 2, 3, 4].map(() => insertPhotos(db.pool, 'rex', [photo])));
    expect(new Set(results.map((r) => r[0]!.id)).size).toBe(1);
    expect(results.filter((r) => r[0]!.created)).toHaveLength(1);
  });

  it('lists and filters photos of a pet only', async () => {
    const rex = await petWithPhotos(3);
    const other = await petWithPhotos(1);
    expect((await getPhotos(db.pool, rex.petId)).map((p) => p.id).sort()).toEqual([...rex.photoIds].sort());
    const filtered = await getPhotos(db.pool, rex.petId, [
      rex.photoIds[0]!,
      other.photoIds[0]!,
      'not-a-uuid',
    ]);
    expect(filtered.map((p) => p.id)).toEqual([rex.photoIds[0]]);
    expect(await getPhotos(db.pool, rex.petId, [])).toEqual([]);
  });

  it('rejects a malformed sha256 at the database', async () => {
    await ensurePetOwner(db.pool, 'rex', 'alice');
    await expect(insertPhotos(db.pool, 'rex', [{ ...fakePhoto(), sha256: 'xyz' }])).rejects.toThrow(/check/);
  });
});

describe('jobs', () => {
  it('creates a queued job and reads it back', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(2);
    const traceId = 'a'.repeat(32);
    const result = await createJob(db.pool, {
      petId,
      owner,
      photoIds,
      callbackUrl: 'http://hooks.local/x',
      traceId,
    });
    expect(result.outcome).toBe('created');
    const job = await getJob(db.pool, result.job.id);
    expect(job).toMatchObject({
      petId,
      owner,
      status: 'queued',
      attempts: 0,
      photoIds,
      callbackUrl: 'http://hooks.local/x',
      traceId,
      idempotencyKey: null,
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    expect(job!.createdAt).toBeInstanceOf(Date);
  });

  it('returns null for unknown and malformed job ids', async () => {
    expect(await getJob(db.pool, randomUUID())).toBeNull();
    expect(await getJob(db.pool, 'nope')).toBeNull();
    expect(await markJobRunning(db.pool, randomUUID(), 1)).toBeNull();
    expect(await markJobFailed(db.pool, 'nope', 'x', { final: false })).toBeNull();
    expect(await getPhotosForJob(db.pool, randomUUID())).toEqual([]);
    expect(await startJobAttempt(db.pool, randomUUID(), 1)).toBeNull();
    expect(await startJobAttempt(db.pool, 'nope', 1)).toBeNull();
  });

  it('replays the same idempotency key with the same request, and reports a conflict otherwise', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(2);
    const base = { petId, owner, photoIds, idempotencyKey: 'k1', requestHash: 'h1' };
    const first = await createJob(db.pool, base);
    const replay = await createJob(db.pool, base);
    expect(first.outcome).toBe('created');
    expect(replay).toMatchObject({ outcome: 'replayed', job: { id: first.job.id } });
    const conflict = await createJob(db.pool, { ...base, requestHash: 'h2' });
    expect(conflict).toMatchObject({ outcome: 'conflict', job: { id: first.job.id } });
    // Keys are per owner: another owner's identical key is a different job.
    await ensurePetOwner(db.pool, 'bobs-pet', 'bob');
    const [bobPhoto] = await insertPhotos(db.pool, 'bobs-pet', [fakePhoto()]);
    const bob = await createJob(db.pool, {
      ...base,
      petId: 'bobs-pet',
      owner: 'bob',
      photoIds: [bobPhoto!.id],
    });
    expect(bob.outcome).toBe('created');
  });

  it('creates one job when the same key races', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(1);
    const input = { petId, owner, photoIds, idempotencyKey: 'race', requestHash: 'h' };
    const results = await Promise.all([1, 2, 3, 4].map(() => createJob(db.pool, input)));
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
  });

  it('deletes a never-started job so its key can be used again', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(1);
    const input = { petId, owner, photoIds, idempotencyKey: 'k', requestHash: 'h' };
    const first = await createJob(db.pool, input);
    expect(await deleteQueuedJob(db.pool, first.job.id)).toBe(true);
    const second = await createJob(db.pool, input);
    expect(second.outcome).toBe('created');
    expect(second.job.id).not.toBe(first.job.id);
    await markJobRunning(db.pool, second.job.id, 1);
    expect(await deleteQueuedJob(db.pool, second.job.id)).toBe(false);
  });

  it('walks queued -> running -> failed -> running -> dead_lettered with attempts and error', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(1);
    const { job } = await createJob(db.pool, { petId, owner, photoIds, callbackUrl: 'http://h/cb' });

    const running = await markJobRunning(db.pool, job.id, 1);
    expect(running).toMatchObject({
      id: job.id,
      petId,
      photoIds,
      callbackUrl: 'http://h/cb',
      status: 'running',
      attempts: 1,
      previousStatus: 'queued',
    });
    expect(running!.startedAt).toBeInstanceOf(Date);

    const failed = await markJobFailed(db.pool, job.id, 'boom', { final: false });
    expect(failed).toMatchObject({ status: 'failed', error: 'boom', finishedAt: null });

    const retry = await markJobRunning(db.pool, job.id, 2);
    expect(retry).toMatchObject({ status: 'running', attempts: 2, previousStatus: 'failed' });
    // A stale delivery never lowers the attempt count.
    expect(await markJobRunning(db.pool, job.id, 1)).toMatchObject({ attempts: 2 });

    const dead = await markJobFailed(db.pool, job.id, 'x'.repeat(5_000), { final: true });
    expect(dead!.status).toBe('dead_lettered');
    expect(dead!.error).toHaveLength(2_000);
    expect(dead!.finishedAt).toBeInstanceOf(Date);
  });

  it('starts an attempt in one round trip: running, attempts kept, the photos in job order', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(3);
    const order = [photoIds[2]!, photoIds[0]!];
    const { job } = await createJob(db.pool, { petId, owner, photoIds: order });
    const first = await startJobAttempt(db.pool, job.id, 2);
    expect(first!.previousStatus).toBe('queued');
    expect(first!.job).toMatchObject({ id: job.id, status: 'running', attempts: 2, finishedAt: null });
    expect(first!.job.startedAt).toBeInstanceOf(Date);
    expect(first!.photos).toEqual(await getPhotosForJob(db.pool, job.id));
    expect(first!.photos.map((p) => p.id)).toEqual(order);
    // A stale delivery never lowers the attempt count.
    expect((await startJobAttempt(db.pool, job.id, 1))!.job.attempts).toBe(2);

    await saveJobResult(db.pool, job.id, [{ heroPhotoId: order[0]!, photoIds: order }]);
    const redelivered = await startJobAttempt(db.pool, job.id, 3);
    expect(redelivered!.previousStatus).toBe('succeeded');
    expect(redelivered!.job).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(redelivered!.photos).toEqual([]);
  });

  it('gives the worker the job photos in job order', async () => {
    const { petId, owner, photoIds } = await petWithPhotos(3);
    const order = [photoIds[2]!, photoIds[0]!];
    const { job } = await createJob(db.pool, { petId, owner, photoIds: order });
    const photos = await getPhotosForJob(db.pool, job.id);
    expect(photos.map((p) => p.id)).toEqual(order);
    expect(photos[0]).toEqual({
      id: order[0],
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      width: 640,
      height: 480,
      contentType: 'image/jpeg',
    });
  });
});

describe('results', () => {
  async function runningJob(count = 4) {
    const pet = await petWithPhotos(count);
    const { job } = await createJob(db.pool, { petId: pet.petId, owner: pet.owner, photoIds: pet.photoIds });
    await markJobRunning(db.pool, job.id, 1);
    return { ...pet, jobId: job.id };
  }

  async function countRows(jobId: string) {
    const c = await db.pool.query('SELECT count(*)::int AS n FROM clusters WHERE job_id = $1', [jobId]);
    const m = await db.pool.query('SELECT count(*)::int AS n FROM cluster_members WHERE job_id = $1', [
      jobId,
    ]);
    return { clusters: c.rows[0].n as number, members: m.rows[0].n as number };
  }

  it('saves clusters, marks the job succeeded and serves them as the latest result', async () => {
    const {
      petId,
      photoIds: [a, b, c, d],
      jobId,
    } = await runningJob(4);
    const saved = await saveJobResult(db.pool, jobId, [
      { heroPhotoId: b!, photoIds: [a!, b!, c!] },
      { heroPhotoId: d!, photoIds: [d!] },
    ]);
    expect(saved).toMatchObject({ id: jobId, status: 'succeeded', error: null });
    expect(saved.finishedAt).toBeInstanceOf(Date);

    const latest = await getLatestClusters(db.pool, petId);
    expect(latest).toEqual({
      jobId,
      finishedAt: saved.finishedAt,
      clusters: [
        { clusterId: 0, heroPhotoId: b, photoIds: [a, b, c], size: 3 },
        { clusterId: 1, heroPhotoId: d, photoIds: [d], size: 1 },
      ],
    });
  });

  it('replaces the earlier result on redelivery, never duplicating rows', async () => {
    const {
      photoIds: [a, b, c],
      jobId,
    } = await runningJob(3);
    await saveJobResult(db.pool, jobId, [{ heroPhotoId: a!, photoIds: [a!, b!, c!] }]);
    expect(await countRows(jobId)).toEqual({ clusters: 1, members: 3 });
    // Same result delivered again: same rows.
    await saveJobResult(db.pool, jobId, [{ heroPhotoId: a!, photoIds: [a!, b!, c!] }]);
    expect(await countRows(jobId)).toEqual({ clusters: 1, members: 3 });
    // A different result of the same job replaces the old one.
    await saveJobResult(db.pool, jobId, [
      { heroPhotoId: a!, photoIds: [a!] },
      { heroPhotoId: c!, photoIds: [b!, c!] },
    ]);
    expect(await countRows(jobId)).toEqual({ clusters: 2, members: 3 });
    expect((await getJobClusters(db.pool, jobId)).map((c) => c.photoIds)).toEqual([[a], [b, c]]);
  });

  it('stays consistent when two deliveries save at the same time', async () => {
    const {
      photoIds: [a, b],
      jobId,
    } = await runningJob(2);
    await Promise.all([
      saveJobResult(db.pool, jobId, [{ heroPhotoId: a!, photoIds: [a!, b!] }]),
      saveJobResult(db.pool, jobId, [
        { heroPhotoId: a!, photoIds: [a!] },
        { heroPhotoId: b!, photoIds: [b!] },
      ]),
    ]);
    const counts = await countRows(jobId);
    expect(counts.members).toBe(2);
    expect([1, 2]).toContain(counts.clusters);
  });

  it('works on a checked-out client too', async () => {
    const {
      photoIds: [a],
      jobId,
    } = await runningJob(1);
    const client = await db.pool.connect();
    try {
      await saveJobResult(client, jobId, [{ heroPhotoId: a!, photoIds: [a!] }]);
    } finally {
      client.release();
    }
    expect((await getJob(db.pool, jobId))!.status).toBe('succeeded');
  });

  it('writes nothing for an invalid result or an unknown job', async () => {
    const {
      photoIds: [a, b],
      jobId,
    } = await runningJob(2);
    const stranger = (await petWithPhotos(1)).photoIds[0]!;
    const invalid = [
      [{ heroPhotoId: a!, photoIds: [] }],
      [{ heroPhotoId: b!, photoIds: [a!] }],
      [{ heroPhotoId: a!, photoIds: [a!, stranger] }],
      [
        { heroPhotoId: a!, photoIds: [a!, b!] },
        { heroPhotoId: b!, photoIds: [b!] },
      ],
    ];
    for (const clusters of invalid) {
      await expect(saveJobResult(db.pool, jobId, clusters)).rejects.toSatisfy((e) =>
        isDbError(e, 'DB_INVALID_RESULT'),
      );
    }
    expect(await countRows(jobId)).toEqual({ clusters: 0, members: 0 });
    expect((await getJob(db.pool, jobId))!.status).toBe('running');
    await expect(saveJobResult(db.pool, randomUUID(), [])).rejects.toSatisfy((e) =>
      isDbError(e, 'DB_JOB_NOT_FOUND'),
    );
  });

  it('serves the most recently finished succeeded job of the pet', async () => {
    const {
      petId,
      owner,
      photoIds: [a, b],
    } = await petWithPhotos(2);
    expect(await getLatestClusters(db.pool, petId)).toBeNull();
    const older = await createJob(db.pool, { petId, owner, photoIds: [a!, b!] });
    const newer = await createJob(db.pool, { petId, owner, photoIds: [a!, b!] });
    await saveJobResult(db.pool, newer.job.id, [{ heroPhotoId: a!, photoIds: [a!, b!] }]);
    await saveJobResult(db.pool, older.job.id, [
      { heroPhotoId: a!, photoIds: [a!] },
      { heroPhotoId: b!, photoIds: [b!] },
    ]);
    // "Latest" is by finish time: the older job finished last.
    expect((await getLatestClusters(db.pool, petId))!.jobId).toBe(older.job.id);
    // A failing job does not hide the last success.
    const failing = await createJob(db.pool, { petId, owner, photoIds: [a!] });
    await markJobFailed(db.pool, failing.job.id, 'x', { final: true });
    expect((await getLatestClusters(db.pool, petId))!.jobId).toBe(older.job.id);
  });

  it('withTransaction rolls back on error', async () => {
    await expect(
      withTransaction(db.pool, async (client) => {
        await ensurePetOwner(client, 'ghost', 'alice');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await getPetOwner(db.pool, 'ghost')).toBeNull();
  });
});

describe('webhook delivery state', () => {
  async function succeededJob(callbackUrl: string | null = 'http://hooks.local/cb') {
    const { petId, owner, photoIds } = await petWithPhotos(1);
    const { job } = await createJob(db.pool, { petId, owner, photoIds, callbackUrl });
    await markJobRunning(db.pool, job.id, 1);
    await saveJobResult(db.pool, job.id, [{ heroPhotoId: photoIds[0]!, photoIds }]);
    return job.id;
  }

  it('starts unsettled, and a succeeded job shows it pending until recorded', async () => {
    const jobId = await succeededJob();
    expect((await getJob(db.pool, jobId))!.webhook).toEqual({
      status: null,
      attempts: 0,
      error: null,
      finishedAt: null,
    });
    const delivered = await recordWebhookOutcome(db.pool, jobId, { delivered: true, attempts: 2 });
    expect(delivered!.webhook).toMatchObject({ status: 'delivered', attempts: 2, error: null });
    expect(delivered!.webhook.finishedAt).toBeInstanceOf(Date);
    expect(delivered!.status).toBe('succeeded');
  });

  it('records a final failure with its error, and never lets a failure overwrite a delivery', async () => {
    const jobId = await succeededJob();
    const failed = await recordWebhookOutcome(db.pool, jobId, {
      delivered: false,
      attempts: 3,
      error: `network: ${'x'.repeat(5_000)}`,
    });
    expect(failed!.webhook).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed!.webhook.error).toHaveLength(2_000);
    // A concurrent run that got through wins over the failure; attempts add up.
    const delivered = await recordWebhookOutcome(db.pool, jobId, { delivered: true, attempts: 1 });
    expect(delivered!.webhook).toMatchObject({ status: 'delivered', attempts: 4, error: null });
    const late = await recordWebhookOutcome(db.pool, jobId, { delivered: false, attempts: 1, error: 'x' });
    expect(late!.webhook).toMatchObject({
      status: 'delivered',
      attempts: 5,
      error: null,
      finishedAt: delivered!.webhook.finishedAt,
    });
  });

  it('returns null for unknown jobs', async () => {
    expect(await recordWebhookOutcome(db.pool, randomUUID(), { delivered: true, attempts: 1 })).toBeNull();
    expect(await recordWebhookOutcome(db.pool, 'nope', { delivered: true, attempts: 1 })).toBeNull();
  });

  it('a late failure of a redelivery never downgrades a succeeded job', async () => {
    const jobId = await succeededJob();
    const before = await getJob(db.pool, jobId);
    for (const final of [false, true]) {
      const after = await markJobFailed(db.pool, jobId, 'late', { final });
      expect(after).toEqual(before);
    }
  });
});
