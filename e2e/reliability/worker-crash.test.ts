// Fault: workers SIGKILLed mid-job, several times in a run of 200 jobs with two
// workers. At-least-once delivery (XACK only after the result commits) plus
// idempotent result writes must give: every job succeeded, exactly one result
// each, and only the jobs that were running on a killed worker ran twice.
import { hostname } from 'node:os';
import { waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type SeededJob, type Stack, startStack, type WorkerHandle } from '../support/stack.js';

const JOBS = 200;
const KILLS = 3;
const CONCURRENCY = 2;

let stack: Stack;
beforeAll(async () => {
  // No worker yet: the backlog is queued first, so every kill lands on a busy worker.
  stack = await startStack({
    label: 'crash',
    workers: 0,
    workerEnv: { CLAIM_IDLE_MS: '1500', WORKER_CONCURRENCY: String(CONCURRENCY) },
  });
}, 120_000);
afterAll(() => stack?.stop());

const alive = (w: WorkerHandle) => w.proc.child.exitCode === null && w.proc.child.signalCode === null;

describe('worker SIGKILLed mid-job', () => {
  let jobs: SeededJob[];

  it(`${KILLS} kills in a run of ${JOBS} jobs: every job succeeds once, with one result`, async () => {
    jobs = await stack.seedJobs(JOBS);
    await Promise.all([stack.startWorker(), stack.startWorker()]);

    const replacements: Promise<WorkerHandle>[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // Let the survivors get through part of the backlog between kills.
      await waitFor(
        async () => {
          const { rows } = await stack.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded'`,
          );
          return rows[0]!.n >= (JOBS * kill) / (2 * KILLS + 2);
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `progress before kill ${kill}` },
      );
      const victim = await waitFor(
        async () => {
          // The worker's consumer holds delivered, unacked entries: it is mid-job.
          for (const w of stack.workers.filter(alive)) {
            const consumer = `${hostname()}-${w.proc.child.pid}`;
            const held = (await stack.redis.xpending(
              stack.keys.stream,
              stack.names.group,
              '-',
              '+',
              1,
              consumer,
            )) as unknown[];
            if (held.length > 0) return w;
          }
          return undefined;
        },
        { timeoutMs: 30_000, intervalMs: 20, what: 'a worker with a job in flight' },
      );
      const exit = await victim.proc.stop('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      // Keep two consumers: the survivor claims the dead one's entries after CLAIM_IDLE_MS.
      // Not awaited, so a slow start-up does not let the survivor finish the backlog
      // before the next kill.
      replacements.push(stack.startWorker());
    }
    await Promise.all(replacements);

    const rows = await stack.waitForJobs(
      jobs.map((j) => j.jobId),
      { timeoutMs: 120_000 },
    );
    const notSucceeded = [...rows.values()].filter((r) => r.status !== 'succeeded');
    expect(notSucceeded).toEqual([]);
    expect(await stack.resultProblems(jobs)).toEqual([]);
  }, 180_000);

  it('only the jobs a killed worker held ran again, and their attempts say so', async () => {
    const rows = [...(await stack.jobRows(jobs.map((j) => j.jobId))).values()];
    const retried = rows.filter((r) => r.attempts > 1);
    // Each kill strands at most CONCURRENCY entries (a consumer reads only as many as it has free slots).
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried.length).toBeLessThanOrEqual(KILLS * CONCURRENCY);
    for (const r of rows) {
      expect(r.attempts).toBeGreaterThanOrEqual(1);
      expect(r.attempts).toBeLessThanOrEqual(1 + KILLS);
      expect(r.error).toBeNull();
    }
    // A result is committed (and logged) once per job: the redelivery of a job whose
    // result had committed before the kill skips it instead of writing again.
    const completions = stack.completions();
    const twice = jobs.filter((j) => (completions.get(j.jobId) ?? 0) > 1).map((j) => j.jobId);
    expect(twice).toEqual([]);
    const logged = jobs.filter((j) => completions.has(j.jobId)).length;
    expect(logged).toBeGreaterThanOrEqual(JOBS - KILLS * CONCURRENCY);
  });

  it('nothing is left pending, lagging or dead-lettered in Redis', async () => {
    const { stream, dlq } = stack.keys;
    const { group } = stack.names;
    const groups = (await stack.redis.xinfo('GROUPS', stream)) as unknown[][];
    const info = groups.map((g) =>
      Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]])),
    );
    const ours = info.find((g) => g.name === group)!;
    expect(ours.pending).toBe(0);
    expect(ours.lag).toBe(0);
    expect(await stack.redis.xlen(dlq)).toBe(0);
  });

  it('no raw pet id, API key or image bytes reached telemetry during the run', async () => {
    expect(await telemetryLeaks(stack)).toEqual([]);
  });
});
