// Fault: poison jobs in the middle of a normal stream. A job whose photos'
// blobs are gone fails every attempt (retryable: a blob may still be on its
// way), so it gets exactly MAX_ATTEMPTS attempts, then the DLQ; a job whose
// every photo is corrupt, or whose row is gone, can never succeed
// (retryable: false) and goes to the DLQ on its first attempt. The jobs around
// them are not held up or touched. A job over the worker's MAX_JOB_PHOTOS
// (created while the api allowed more) goes there at once too.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type SeededJob, type Stack, startStack } from '../support/stack.js';

const MAX_ATTEMPTS = 3;
/** The worker's limit; the api allows more, as after a lowered limit. */
const WORKER_MAX_JOB_PHOTOS = 3;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    label: 'poison',
    workerEnv: {
      MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      RETRY_BASE_MS: '100',
      RETRY_MAX_MS: '200',
      MAX_JOB_PHOTOS: String(WORKER_MAX_JOB_PHOTOS),
    },
    apiEnv: { MAX_JOB_PHOTOS: '10' },
  });
}, 120_000);
afterAll(() => stack?.stop());

const blobPath = (bytes: Buffer) => {
  const sha = createHash('sha256').update(bytes).digest('hex');
  return join(stack.photoDir, sha.slice(0, 2), sha.slice(2, 4), sha);
};

/** A pet whose uploaded photos are then broken in the blob store. */
async function poisonedPet(breakBlob: (path: string) => void) {
  const petId = stack.newPetId();
  const photos = stack.newPhotos(2);
  const photoIds = await stack.uploadPhotos(petId, photos);
  for (const bytes of photos) breakBlob(blobPath(bytes));
  return { petId, photoIds };
}

async function dlqEntries() {
  const entries = (await stack.redis.xrange(stack.keys.dlq, '-', '+')) as [string, string[]][];
  return entries.map(([, flat]) =>
    Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])),
  );
}

describe('poison jobs', () => {
  let normal: SeededJob[];
  let missing: string;
  let corrupt: string;
  let tooLarge: string;
  const vanished = randomUUID();

  it('missing blobs: exactly MAX_ATTEMPTS attempts, then dead_lettered with the error; corrupt photos, jobs over MAX_JOB_PHOTOS and unknown jobs: one attempt', async () => {
    const missingPet = await poisonedPet((path) => rmSync(path));
    // JPEG magic then noise: the decoder fails on every photo.
    const corruptPet = await poisonedPet((path) =>
      writeFileSync(path, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(512)])),
    );
    const before = await stack.seedJobs(10);
    missing = (await stack.createJob(missingPet.petId)).jobId;
    corrupt = (await stack.createJob(corruptPet.petId)).jobId;
    const largePet = stack.newPetId();
    await stack.uploadPhotos(largePet, stack.newPhotos(WORKER_MAX_JOB_PHOTOS + 1));
    tooLarge = (await stack.createJob(largePet)).jobId;
    // A stream entry whose job row does not exist (e.g. deleted after the enqueue).
    await stack.redis.xadd(
      stack.keys.stream,
      '*',
      'job_id',
      vanished,
      'partition_key',
      'pet-gone',
      'attempt',
      '1',
      'enqueued_at',
      String(Date.now()),
    );
    normal = [...before, ...(await stack.seedJobs(10))];

    const rows = await stack.waitForJobs([...normal.map((j) => j.jobId), missing, corrupt, tooLarge]);
    expect(rows.get(missing)).toMatchObject({ status: 'dead_lettered', attempts: MAX_ATTEMPTS });
    expect(rows.get(missing)!.error).toMatch(/none of the job's 2 photos could be read/);
    expect(rows.get(corrupt)).toMatchObject({ status: 'dead_lettered', attempts: 1 });
    expect(rows.get(corrupt)!.error).toMatch(/could be read/);
    expect(rows.get(tooLarge)).toMatchObject({ status: 'dead_lettered', attempts: 1 });
    expect(rows.get(tooLarge)!.error).toMatch(/the job has 4 photos, more than MAX_JOB_PHOTOS \(3\)/);

    // The API shows the same.
    const res = await fetch(`${stack.apiUrl}/v1/jobs/${missing}`, { headers: stack.auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'dead_lettered',
      attempts: MAX_ATTEMPTS,
      error: expect.stringMatching(/could be read/),
      finishedAt: expect.any(String),
    });
  }, 120_000);

  it('the DLQ holds each poison job once, with its reason, attempt and error', async () => {
    const dlq = await dlqEntries();
    const byJob = new Map(dlq.map((e) => [e.job_id, e]));
    expect(dlq).toHaveLength(4);
    expect(byJob.get(missing)).toMatchObject({
      reason: 'handler_failed',
      attempt: String(MAX_ATTEMPTS),
      error_type: 'WORKER_NO_USABLE_PHOTOS',
      error: expect.stringMatching(/could be read/),
    });
    expect(byJob.get(corrupt)).toMatchObject({
      reason: 'not_retryable',
      attempt: '1',
      error_type: 'WORKER_NO_USABLE_PHOTOS',
    });
    expect(byJob.get(tooLarge)).toMatchObject({
      reason: 'not_retryable',
      attempt: '1',
      error_type: 'WORKER_JOB_TOO_LARGE',
    });
    expect(byJob.get(vanished)).toMatchObject({
      reason: 'not_retryable',
      attempt: '1',
      error_type: 'WORKER_JOB_NOT_FOUND',
    });
    const failures = stack.logs().filter((l) => l.event === 'job_failed');
    expect(failures.filter((l) => l.job_id === missing).map((l) => l.attempt)).toEqual([1, 2, 3]);
    expect(failures.filter((l) => l.job_id === corrupt).map((l) => l.attempt)).toEqual([1]);
    expect(failures.filter((l) => l.job_id === tooLarge).map((l) => l.attempt)).toEqual([1]);
    expect(failures.filter((l) => l.job_id === vanished).map((l) => l.attempt)).toEqual([1]);
  });

  it('the rest of the stream is unaffected: every other job succeeded on its first attempt', async () => {
    const rows = await stack.jobRows(normal.map((j) => j.jobId));
    for (const job of normal) expect(rows.get(job.jobId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await stack.resultProblems(normal)).toEqual([]);
    const worker = stack.workers[0]!;
    expect(await stack.scrape(worker.metricsUrl, 'media_cluster_deadletter_total')).toBe(4);
    expect(await stack.scrape(worker.metricsUrl, 'media_cluster_retries_total')).toBe(MAX_ATTEMPTS - 1);
  });

  it('no raw pet id, API key or image bytes reached telemetry', async () => {
    expect(await telemetryLeaks(stack)).toEqual([]);
  });
});
