import { waitFor } from '@media-cluster/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsumer, createProducer, JobError, type JobMessage } from '../src/index.js';
import {
  BACKENDS,
  closeClients,
  deleteQueue,
  keysOf,
  pendingCount,
  readStream,
  recordingLogger,
  testNames,
} from './support.js';

afterAll(() => closeClients());

describe.each(BACKENDS)('a JobError with retryable: false (on $name)', (backend) => {
  it('goes to the DLQ on its first attempt (reason not_retryable); other failures still retry', async () => {
    const redis = backend.client();
    const names = testNames('nonretry');
    const producer = createProducer({ redis, names });
    const attempts: Record<string, number[]> = {};
    const retried: string[] = [];
    const dead: [JobMessage, unknown][] = [];
    const consumer = createConsumer({
      redis,
      names,
      maxAttempts: 3,
      backoff: { baseMs: 10, maxMs: 20 },
      logger: recordingLogger(),
      handler: async (job) => {
        attempts[job.jobId] = [...(attempts[job.jobId] ?? []), job.attempt];
        if (job.jobId === 'job-never')
          throw new JobError('WORKER_JOB_NOT_FOUND', 'job is not in the database', { retryable: false });
        // A look-alike is not the convention: only a JobError can stop the retries.
        if (job.jobId === 'job-lookalike' && job.attempt < 2)
          throw Object.assign(new Error('duck-typed'), { retryable: false });
        // `retryable: true` (the default) keeps the normal retries.
        if (job.attempt < 2) throw new JobError('WORKER_BUSY', 'try again');
      },
      hooks: {
        onRetry: (job) => {
          retried.push(job.jobId);
        },
        onDeadLetter: (job, error) => {
          dead.push([job, error]);
        },
      },
    });
    await consumer.start();
    await producer.send({ jobId: 'job-never', partitionKey: 'pet-1' });
    await producer.send({ jobId: 'job-flaky', partitionKey: 'pet-1' });
    await producer.send({ jobId: 'job-lookalike' });

    await waitFor(
      () =>
        dead.length === 1 && attempts['job-flaky']?.length === 2 && attempts['job-lookalike']?.length === 2,
      {
        what: 'the dead letter and the flaky job',
      },
    );
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'acks' });
    await consumer.close();

    expect(attempts).toEqual({ 'job-never': [1], 'job-flaky': [1, 2], 'job-lookalike': [1, 2] });
    expect(retried.sort()).toEqual(['job-flaky', 'job-lookalike']);
    expect(dead[0]?.[0]).toMatchObject({ jobId: 'job-never', attempt: 1 });
    const dlq = await readStream(redis, keysOf(names).dlq);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.fields).toMatchObject({
      job_id: 'job-never',
      attempt: '1',
      reason: 'not_retryable',
      error: 'job is not in the database',
      error_type: 'WORKER_JOB_NOT_FOUND',
    });
    expect(await redis.zcard(keysOf(names).delayed)).toBe(0);
    await deleteQueue(redis, names);
  });
});
