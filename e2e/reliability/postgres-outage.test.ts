// Fault: PostgreSQL SIGKILLed mid-run and kept down for several seconds, then
// restarted. Jobs that hit the outage retry with backoff and finish once it is
// back; results are written in one transaction, so a reader polling the
// clusters of each pet throughout never sees a partial cluster set; the api
// answers 503 problems meanwhile, never 500s.
import { waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type SeededJob, type Stack, startStack } from '../support/stack.js';

const JOBS = 40;
const MAX_ATTEMPTS = 30;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    label: 'pg-outage',
    privatePostgres: true,
    workers: 0,
    // Backoff 200 ms doubling to 1 s: 30 attempts outlast an outage of ~25 s.
    workerEnv: { MAX_ATTEMPTS: String(MAX_ATTEMPTS), RETRY_BASE_MS: '200', RETRY_MAX_MS: '1000' },
  });
}, 120_000);
afterAll(() => stack?.stop());

interface ReaderReport {
  ok: number;
  unavailable: number;
  notYet: number;
  violations: string[];
}

/**
 * Polls GET /v1/pets/{petId}/clusters for random pets until `stop()`: every
 * 200 must be the pet's job with all of its photos (no partial set), a 404
 * only before that pet's result was first seen, a 503 a database_unavailable
 * problem. Anything else (a 500, a dropped connection) is a violation.
 */
function startReader(jobs: readonly SeededJob[]) {
  const report: ReaderReport = { ok: 0, unavailable: 0, notYet: 0, violations: [] };
  const seen = new Set<string>();
  let running = true;
  const loop = async () => {
    while (running) {
      const job = jobs[Math.floor(Math.random() * jobs.length)]!;
      try {
        const res = await fetch(`${stack.apiUrl}/v1/pets/${job.petId}/clusters`, { headers: stack.auth() });
        const body = (await res.json()) as {
          type?: string;
          jobId?: string;
          clusters?: { heroPhotoId: string; photoIds: string[]; size: number }[];
        };
        if (res.status === 200) {
          const ids = (body.clusters ?? []).flatMap((c) => c.photoIds).sort();
          const whole = JSON.stringify(ids) === JSON.stringify([...job.photoIds].sort());
          const consistent = (body.clusters ?? []).every(
            (c) => c.size === c.photoIds.length && c.photoIds.includes(c.heroPhotoId),
          );
          if (body.jobId !== job.jobId || !whole || !consistent)
            report.violations.push(`partial or foreign result for ${job.jobId}: ${JSON.stringify(body)}`);
          seen.add(job.jobId);
          report.ok++;
        } else if (res.status === 404 && body.type?.endsWith('/not_found')) {
          if (seen.has(job.jobId)) report.violations.push(`result of ${job.jobId} vanished`);
          report.notYet++;
        } else if (res.status === 503 && body.type?.endsWith('/database_unavailable')) {
          report.unavailable++;
        } else {
          report.violations.push(`${res.status} ${JSON.stringify(body)}`);
        }
      } catch (error) {
        report.violations.push(`request failed: ${(error as Error).message}`);
      }
    }
  };
  const lanes = [loop(), loop()];
  return {
    report,
    async stop() {
      running = false;
      await Promise.all(lanes);
      return report;
    },
  };
}

describe('Postgres stopped mid-run', () => {
  let jobs: SeededJob[];
  let reader: ReturnType<typeof startReader>;

  it('jobs retry with backoff while it is down, and all finish once it is back', async () => {
    jobs = await stack.seedJobs(JOBS);
    reader = startReader(jobs);
    await Promise.all([stack.startWorker(), stack.startWorker()]);
    await waitFor(
      async () =>
        [...(await stack.jobRows(jobs.map((j) => j.jobId))).values()].filter((r) => r.status === 'succeeded')
          .length >= 5,
      { timeoutMs: 30_000, what: 'a few jobs to succeed before the outage' },
    );

    await stack.postgresServer!.kill();
    const killedAt = Date.now();
    // Keep it down for several seconds, until a job has failed 3 attempts in a row
    // (>= 200+400 ms of backoff) and the reader has been answered 503 a few times.
    const maxFailedAttempt = () =>
      Math.max(
        0,
        ...stack
          .logs()
          .filter((l) => l.event === 'job_failed')
          .map((l) => Number(l.attempt)),
      );
    await waitFor(
      () => maxFailedAttempt() >= 3 && reader.report.unavailable >= 3 && Date.now() - killedAt > 3_000,
      {
        timeoutMs: 45_000,
        intervalMs: 100,
        what: 'retries with backoff and 503s during the outage',
      },
    ).catch((error: Error) => {
      const { violations, ...counts } = reader.report;
      // What the workers said since the kill: which step they were stuck in.
      const since = stack
        .logs()
        .filter((l) => Number(l.time) >= killedAt && l.name !== 'telemetry')
        .slice(-12)
        .map(
          (l) => `${l.level} ${l.event ?? ''} ${l.msg} ${l.err ? JSON.stringify(l.err).slice(0, 160) : ''}`,
        );
      throw new Error(
        `${error.message}; highest failed attempt ${maxFailedAttempt()}, reader ${JSON.stringify(counts)}, ` +
          `violations ${JSON.stringify(violations.slice(0, 3))}; worker lines since the kill: ${JSON.stringify(since)}`,
      );
    });
    const downMs = Date.now() - killedAt;
    await stack.postgresServer!.restart();

    const rows = await stack.waitForJobs(
      jobs.map((j) => j.jobId),
      { timeoutMs: 90_000 },
    );
    const report = await reader.stop();
    expect(downMs).toBeGreaterThan(3_000);
    expect([...rows.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(await stack.resultProblems(jobs)).toEqual([]);
    const retried = [...rows.values()].filter((r) => r.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    for (const r of rows.values()) expect(r.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);

    expect(report.violations).toEqual([]);
    expect(report.unavailable).toBeGreaterThanOrEqual(3);
    expect(report.ok).toBeGreaterThan(0);
  }, 150_000);

  it('each job committed its result once, and nothing was dead-lettered', async () => {
    const completions = stack.completions();
    expect(jobs.filter((j) => (completions.get(j.jobId) ?? 0) > 1)).toEqual([]);
    expect(await stack.redis.xlen(stack.keys.dlq)).toBe(0);
    // The api is healthy again without a restart.
    expect((await fetch(`${stack.apiUrl}/ready`)).status).toBe(200);
  });

  it('no raw pet id, API key or image bytes reached telemetry', async () => {
    expect(await telemetryLeaks(stack)).toEqual([]);
  });
});
