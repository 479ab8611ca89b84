import { fileURLToPath } from 'node:url';
import { type Spawned, spawnTracked, stopProcess, uniqueName, waitFor } from '@media-cluster/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createProducer,
  type JobMessage,
  queueNames,
  type RedisClient,
} from '../src/index.js';
import {
  BACKENDS,
  type Backend,
  closeClients,
  deleteQueue,
  keysOf,
  pendingCount,
  readStream,
  recordingLogger,
  sendAll,
} from './support.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/consumer.ts', import.meta.url));
const children = new Set<Spawned>();

function spawnConsumer(backend: Backend, env: Record<string, string>): Spawned {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', fixture], {
    cwd: packageDir,
    env: { ...process.env, ...backend.env(), ...env },
  });
  children.add(child);
  return child;
}

afterEach(async () => {
  await Promise.all([...children].map((c) => stopProcess(c, 'SIGKILL')));
  children.clear();
});
afterAll(closeClients);

async function pendingOf(redis: RedisClient, stream: string, group: string, consumer: string) {
  return (await redis.xpending(stream, group, '-', '+', 1000, consumer)) as [
    string,
    string,
    number,
    number,
  ][];
}

describe.each(BACKENDS)('a consumer process that dies (on $name)', (backend) => {
  it('SIGKILLed while holding entries: another consumer claims them and every job completes exactly once', async () => {
    const redis = backend.client();
    const prefix = uniqueName('crash');
    const names = queueNames(prefix);
    // One hash tag, so the test's DEL of both hashes is legal on Redis Cluster.
    const counts = `{${prefix}}:counts`;
    const producer = createProducer({ redis, names });
    const jobIds = Array.from({ length: 40 }, (_, i) => `job-${i}`);
    const hung = ['job-3', 'job-13', 'job-23', 'job-33'];
    await sendAll(
      producer,
      jobIds.map((jobId) => ({ jobId })),
    );

    const child = spawnConsumer(backend, {
      QUEUE_PREFIX: prefix,
      CONSUMER_NAME: 'doomed',
      MODE: 'hang',
      HANG: hung.join(','),
      COUNTS_KEY: counts,
      CONCURRENCY: '4',
      CLAIM_IDLE_MS: '60000',
    });
    // It finishes (and acks) what it can, until all 4 slots hold a job that never ends.
    await waitFor(
      async () => {
        const pending = await pendingOf(redis, keysOf(names).stream, names.group, 'doomed');
        return pending.length === 4 && (await redis.hlen(`${counts}:done`)) === 30;
      },
      { timeoutMs: 20_000, what: 'the child to hold 4 hung entries' },
    );
    const held = (await pendingOf(redis, keysOf(names).stream, names.group, 'doomed')).map((p) => p[0]);
    await stopProcess(child, 'SIGKILL');

    const seen: JobMessage[] = [];
    const survivor = createConsumer({
      redis,
      names,
      consumer: 'survivor',
      claimIdleMs: 300,
      logger: recordingLogger(),
      handler: async (job) => {
        seen.push(job);
        await redis.hincrby(`${counts}:done`, job.jobId, 1);
      },
    });
    await survivor.start();
    await waitFor(async () => (await redis.hlen(`${counts}:done`)) === 40, {
      timeoutMs: 15_000,
      what: 'every job done',
    });
    await waitFor(async () => (await pendingCount(redis, names)) === 0, { what: 'nothing pending' });
    await survivor.close();

    const done = await redis.hgetall(`${counts}:done`);
    expect(Object.keys(done).sort()).toEqual([...jobIds].sort());
    expect(Object.entries(done).filter(([, n]) => n !== '1')).toEqual([]);
    // The taken-over entries were redelivered: second delivery, second attempt.
    const claimed = seen.filter((j) => held.includes(j.messageId));
    expect(claimed.map((j) => j.jobId).sort()).toEqual([...hung].sort());
    for (const job of claimed) expect(job).toMatchObject({ deliveryCount: 2, attempt: 2 });
    await redis.del(`${counts}:done`, `${counts}:started`);
    await deleteQueue(redis, names);
  }, 60_000);

  it('a job that kills every consumer that runs it ends in the DLQ after maxAttempts', async () => {
    const redis = backend.client();
    const prefix = uniqueName('poison');
    const names = queueNames(prefix);
    // One hash tag, so the test's DEL of both hashes is legal on Redis Cluster.
    const counts = `{${prefix}}:counts`;
    const producer = createProducer({ redis, names });
    const poisonId = await producer.send({ jobId: 'poison' });
    const env = {
      QUEUE_PREFIX: prefix,
      MODE: 'poison',
      COUNTS_KEY: counts,
      CLAIM_IDLE_MS: '200',
      MAX_ATTEMPTS: '3',
    };
    for (let run = 1; run <= 3; run++) {
      const child = spawnConsumer(backend, { ...env, CONSUMER_NAME: `victim-${run}` });
      const exit = await child.exited;
      expect(exit.signal, child.output()).toBe('SIGKILL');
      expect(await redis.hget(`${counts}:started`, 'poison')).toBe(String(run));
    }

    const deadLetters: JobMessage[] = [];
    const handled: string[] = [];
    const last = createConsumer({
      redis,
      names,
      claimIdleMs: 200,
      maxAttempts: 3,
      logger: recordingLogger(),
      handler: async (job) => {
        handled.push(job.jobId);
      },
      hooks: { onDeadLetter: (job) => void deadLetters.push(job) },
    });
    await last.start();
    await producer.send({ jobId: 'healthy' });
    await waitFor(() => deadLetters.length === 1 && handled.includes('healthy'), {
      timeoutMs: 10_000,
      what: 'poison dead-lettered, healthy job handled',
    });
    await last.close();

    expect(handled).toEqual(['healthy']);
    expect(deadLetters[0]).toMatchObject({
      jobId: 'poison',
      attempt: 4,
      deliveryCount: 4,
      messageId: poisonId,
    });
    const [dlq] = await readStream(redis, keysOf(names).dlq);
    expect(dlq?.fields).toMatchObject({
      job_id: 'poison',
      reason: 'max_attempts_exceeded',
      error_type: 'QUEUE_MAX_ATTEMPTS_EXCEEDED',
      delivery_count: '4',
      source_id: poisonId,
    });
    expect(await pendingCount(redis, names)).toBe(0);
    await redis.del(`${counts}:done`, `${counts}:started`);
    await deleteQueue(redis, names);
  }, 60_000);
});
