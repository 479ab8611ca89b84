// Fault: Redis (AOF on) SIGKILLed while jobs flow, then restarted. While it
// is down the api says so (/ready 503, enqueue 503 problem) instead of
// accepting work it cannot queue; afterwards both services reconnect on their
// own and every job enqueued before the crash still runs, exactly once.
import { waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type SeededJob, type Stack, startStack } from '../support/stack.js';

const BACKLOG = 40;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'redis-restart', privateRedis: true, workers: 0 });
}, 120_000);
afterAll(() => stack?.stop());

async function readyStatus(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Redis restarted while jobs flow', () => {
  let backlog: SeededJob[];
  let refused: { petId: string; photoIds: string[] };

  it('while Redis is down: /ready 503 naming redis, enqueue answers a 503 problem and keeps no job', async () => {
    backlog = await stack.seedJobs(BACKLOG);
    const worker = await stack.startWorker();
    await waitFor(
      async () =>
        [...(await stack.jobRows(backlog.map((j) => j.jobId))).values()].some(
          (r) => r.status === 'succeeded',
        ),
      { timeoutMs: 30_000, what: 'the first job to succeed' },
    );
    // Crash with most of the backlog still in the stream (and some of it in flight).
    await stack.redisServer!.kill();

    const api = await waitFor(
      async () => {
        const r = await readyStatus(stack.apiUrl);
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'api /ready to report Redis down' },
    );
    expect(api.body).toMatchObject({ status: 'unavailable', failed: ['redis'] });
    const w = await waitFor(
      async () => {
        const r = await readyStatus(worker.metricsUrl);
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'worker /ready to report Redis down' },
    );
    expect(JSON.stringify(w.body)).toMatch(/redis/);

    // Uploads do not need Redis; enqueueing does, and says so.
    const petId = stack.newPetId();
    refused = { petId, photoIds: await stack.uploadPhotos(petId, stack.newPhotos(2)) };
    const res = await stack.postJob(petId);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await res.json()).toMatchObject({
      type: 'https://media-cluster.dev/problems/queue_unavailable',
      status: 503,
    });
    const { rows } = await stack.db.query('SELECT id FROM jobs WHERE pet_id = $1', [petId]);
    expect(rows).toEqual([]);
    // Liveness is not readiness: the process itself is fine.
    expect((await fetch(`${stack.apiUrl}/health`)).status).toBe(200);
  }, 120_000);

  it('after the restart both reconnect, and every job enqueued before the crash succeeds once', async () => {
    await stack.redisServer!.restart();
    await waitFor(async () => (await readyStatus(stack.apiUrl)).status === 200, {
      timeoutMs: 20_000,
      what: 'api ready again',
    });
    await waitFor(async () => (await readyStatus(stack.workers[0]!.metricsUrl)).status === 200, {
      timeoutMs: 20_000,
      what: 'worker ready again',
    });
    // The refused request, retried, now works; new jobs flow too.
    const retried = { ...refused, ...(await stack.createJob(refused.petId)) };
    const after = [retried, ...(await stack.seedJobs(10))];
    const all = [...backlog, ...after];

    const rows = await stack.waitForJobs(
      all.map((j) => j.jobId),
      { timeoutMs: 90_000 },
    );
    expect([...rows.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(await stack.resultProblems(all)).toEqual([]);
    const completions = stack.completions();
    expect(all.filter((j) => (completions.get(j.jobId) ?? 0) > 1)).toEqual([]);
    expect(await stack.redis.xlen(stack.keys.dlq)).toBe(0);
  }, 120_000);

  it('no raw pet id, API key or image bytes reached telemetry', async () => {
    expect(await telemetryLeaks(stack)).toEqual([]);
  });
});
