import { waitFor } from '@media-cluster/testkit';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createConsumer, createProducer, type JobMessage } from '../src/index.js';
import {
  closeClients,
  deleteQueue,
  pendingCount,
  readStream,
  recordingLogger,
  redisClient,
  testNames,
} from './support.js';

const redisUrl = inject('redisUrl');
afterAll(() => closeClients());

describe('an error with retryable: false', () => {
  it('goes to the DLQ on its first attempt (reason not_retryable); other failures still retry', async () => {
    const redis = redisClient(redisUrl);
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
          throw Object.assign(new Error('job is not in the database'), {
            code: 'JOB_NOT_FOUND',
            retryable: false,
          });
        // `retryable: true` (or no such field) keeps the normal retries.
        if (job.attempt < 2) throw Object.assign(new Error('try again'), { retryable: true });
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
    await producer.send({ jobId: 'job-never', petId: 'pet-1' });
    await producer.send({ jobId: 'job-flaky', petId: 'pet-1' });

    await waitFor(() => dead.length === 1 && attempts['job-flaky']?.length === 2, {
      what: 'the dead letter and the flaky job',
    });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'acks' });
    await consumer.close();

    expect(attempts).toEqual({ 'job-never': [1], 'job-flaky': [1, 2] });
    expect(retried).toEqual(['job-flaky']);
    expect(dead[0]?.[0]).toMatchObject({ jobId: 'job-never', attempt: 1 });
    const dlq = await readStream(redis, names.dlq);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.fields).toMatchObject({
      job_id: 'job-never',
      attempt: '1',
      reason: 'not_retryable',
      error: 'job is not in the database',
      error_type: 'JOB_NOT_FOUND',
    });
    expect(await redis.zcard(names.delayed)).toBe(0);
    await deleteQueue(redis, names);
  });
});
