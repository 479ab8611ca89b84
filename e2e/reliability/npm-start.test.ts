// Fault: a child of `npm start` dies (SIGKILL, as the OOM killer does). The real
// scripts/start.mjs supervises what it started: the dead child comes back with
// backoff while the others keep serving, no job is lost or done twice, and
// Ctrl-C still stops everything, leaving no process behind.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PHOTO_FIXTURES_DIR, pingRedis, waitFor } from '@media-cluster/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, type NpmStart, pollHealth, startNpmStart } from '../support/npm-start.js';

const KEY = 'npm-start-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
/** Real photos, so a job takes long enough for kills to land mid-job. */
const PHOTOS = readdirSync(join(PHOTO_FIXTURES_DIR, 'clusters'))
  .filter((f) => /\.(jpg|png|webp)$/.test(f))
  .sort()
  .map((f) => readFileSync(join(PHOTO_FIXTURES_DIR, 'clusters', f)));
const PHOTOS_PER_JOB = 12;

let app: NpmStart;
let db: pg.Pool;
let pets = 0;
const jobs: { jobId: string; photoIds: string[] }[] = [];

beforeAll(async () => {
  app = await startNpmStart({
    API_KEYS: `${KEY}:owner-a`,
    // A replacement worker takes over the dead one's entries after 1.5 s idle.
    CLAIM_IDLE_MS: '1500',
    RETRY_BASE_MS: '100',
    RETRY_MAX_MS: '1000',
    WORKER_CONCURRENCY: '2',
  });
  db = new pg.Pool({ connectionString: app.databaseUrl, max: 2, connectionTimeoutMillis: 2_000 });
  db.on('error', () => {}); // a killed server: the next query says so
}, 120_000);
afterAll(async () => {
  await db?.end().catch(() => {});
  await app?.cleanup();
});

/**
 * `count` pets with PHOTOS_PER_JOB photos each, uploaded first, then a job per
 * pet, all POSTed at once: a backlog the worker is still working through when
 * the test kills something, however fast or loaded the machine is.
 */
async function seedJobs(count: number): Promise<string[]> {
  const pending: { petId: string; photoIds: string[] }[] = [];
  for (let i = 0; i < count; i++) {
    const petId = `pet-${pets++}`;
    const form = new FormData();
    for (let p = 0; p < PHOTOS_PER_JOB; p++)
      form.append('photos', new Blob([PHOTOS[(i * 5 + p) % PHOTOS.length]!]), `p${p}.jpg`);
    const upload = await fetch(`${app.apiUrl}/v1/pets/${petId}/photos`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const photoIds = ((await upload.json()) as { photos: { id: string }[] }).photos.map((p) => p.id);
    pending.push({ petId, photoIds });
  }
  return Promise.all(
    pending.map(async ({ petId, photoIds }) => {
      const res = await fetch(`${app.apiUrl}/v1/pets/${petId}/clustering-jobs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const { jobId } = (await res.json()) as { jobId: string };
      jobs.push({ jobId, photoIds });
      return jobId;
    }),
  );
}

async function statusCounts(ids: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status',
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Waits (bounded) until one of `ids` is running and others still wait: a kill now lands mid-job. */
async function untilMidRun(ids: readonly string[]) {
  await waitFor(
    async () => {
      const counts = await statusCounts(ids);
      if ((counts.succeeded ?? 0) === ids.length) throw new Error('every job finished before the kill');
      return (counts.running ?? 0) >= 1 && (counts.queued ?? 0) >= 1;
    },
    { timeoutMs: 60_000, intervalMs: 20, what: 'a job running with others queued' },
  );
}

async function waitAllSucceeded(ids: readonly string[], timeoutMs = 90_000) {
  await waitFor(
    async () => {
      const counts = await statusCounts(ids);
      if ((counts.dead_lettered ?? 0) > 0) throw new Error(`dead-lettered: ${JSON.stringify(counts)}`);
      if (counts.succeeded === ids.length) return true;
      throw new Error(JSON.stringify(counts));
    },
    { timeoutMs, intervalMs: 200, what: `${ids.length} jobs to succeed` },
  );
}

/**
 * Every job succeeded exactly once: in Postgres one result whose members are
 * exactly the job's photos (each once) with clusters numbered 0..k-1, and the
 * pipeline ran to its end once (one `job_completed` line), or, for a job whose
 * worker was killed between the commit and that line, never again: its
 * redelivery was skipped as already succeeded.
 */
async function exactlyOnceProblems(): Promise<string[]> {
  const problems: string[] = [];
  const completed = new Map<string, number>();
  const skipped = new Set<string>();
  const count = () => {
    completed.clear();
    for (const line of app.logs()) {
      if (typeof line.job_id !== 'string') continue;
      if (line.event === 'job_completed') completed.set(line.job_id, (completed.get(line.job_id) ?? 0) + 1);
      if (line.event === 'job_skipped' && line.reason === 'already_succeeded') skipped.add(line.job_id);
    }
  };
  // The line is written just after the commit: give the pipe a moment to deliver it.
  await waitFor(
    () => {
      count();
      return jobs.every((j) => completed.has(j.jobId) || skipped.has(j.jobId));
    },
    { timeoutMs: 10_000, what: 'a job_completed (or job_skipped) line per job' },
  ).catch(() => {});
  const { rows } = await db.query<{
    id: string;
    status: string;
    members: string[] | null;
    clusters: number;
    max_index: number | null;
  }>(
    `SELECT j.id, j.status,
            (SELECT array_agg(m.photo_id::text ORDER BY m.photo_id) FROM cluster_members m WHERE m.job_id = j.id) AS members,
            (SELECT count(*)::int FROM clusters c WHERE c.job_id = j.id) AS clusters,
            (SELECT max(cluster_index) FROM clusters c WHERE c.job_id = j.id) AS max_index
       FROM jobs j WHERE j.id = ANY($1::uuid[])`,
    [jobs.map((j) => j.jobId)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const job of jobs) {
    const row = byId.get(job.jobId);
    if (row?.status !== 'succeeded') problems.push(`${job.jobId}: ${row?.status ?? 'no row'}`);
    const runs = completed.get(job.jobId) ?? 0;
    if (runs > 1 || (runs === 0 && !skipped.has(job.jobId)))
      problems.push(`${job.jobId}: completed ${runs} times${skipped.has(job.jobId) ? ' (and skipped)' : ''}`);
    if (JSON.stringify(row?.members ?? []) !== JSON.stringify([...job.photoIds].sort()))
      problems.push(`${job.jobId}: members ${JSON.stringify(row?.members)}`);
    if (!row || row.clusters < 1 || row.max_index !== row.clusters - 1)
      problems.push(`${job.jobId}: ${row?.clusters} clusters, max index ${row?.max_index}`);
  }
  return problems;
}

describe('npm start supervises what it started', () => {
  it('worker SIGKILLed with jobs in flight: the api answers /health 200 throughout, a new worker is ready within 10 s, every job succeeds once', async () => {
    const ids = await seedJobs(30);
    await untilMidRun(ids);
    const victim = app.pidOf('worker')!;
    const health = pollHealth(`${app.apiUrl}/health`);
    try {
      process.kill(victim, 'SIGKILL');
      await waitFor(() => !isAlive(victim), { timeoutMs: 5_000, what: 'the worker to die' });
      // Bounded: the replacement answers /ready within 10 s of the kill.
      await waitFor(
        async () => (await fetch(`${app.workerUrl}/ready`).catch(() => undefined))?.status === 200,
        { timeoutMs: 10_000, intervalMs: 100, what: 'a new worker to be ready' },
      );
      const replacement = app.pidOf('worker');
      expect(replacement).toBeDefined();
      expect(replacement).not.toBe(victim);
      await waitAllSucceeded(ids);
    } finally {
      await health.stop();
    }
    expect(health.polls()).toBeGreaterThan(20);
    expect(health.failures).toEqual([]);
    expect(
      app.startLines().filter((l) => l.includes(`worker (pid ${victim}) exited unexpectedly`)),
    ).toHaveLength(1);
    expect(await exactlyOnceProblems()).toEqual([]);
  }, 180_000);

  it('api SIGKILLed: the worker keeps completing jobs (its /health 200 throughout) and the api is back within 10 s', async () => {
    const ids = await seedJobs(20);
    await untilMidRun(ids);
    const victim = app.pidOf('api')!;
    const worker = app.pidOf('worker');
    const workerHealth = pollHealth(`${app.workerUrl}/health`);
    let doneAtKill = 0;
    try {
      process.kill(victim, 'SIGKILL');
      doneAtKill = (await statusCounts(ids)).succeeded ?? 0;
      await waitFor(async () => (await fetch(`${app.apiUrl}/ready`).catch(() => undefined))?.status === 200, {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the api to be back',
      });
      expect(app.pidOf('api')).not.toBe(victim);
      await waitAllSucceeded(ids);
    } finally {
      await workerHealth.stop();
    }
    expect(doneAtKill).toBeLessThan(ids.length);
    expect(workerHealth.failures).toEqual([]);
    // The same worker did it: it was never restarted.
    expect(app.pidOf('worker')).toBe(worker);
    expect(await exactlyOnceProblems()).toEqual([]);
  }, 180_000);

  it('embedded Redis and Postgres SIGKILLed: each comes back with its data, and new jobs succeed', async () => {
    const before = (await statusCounts(jobs.map((j) => j.jobId))).succeeded;
    for (const role of ['redis-server', 'postgres'] as const) {
      const victim = app.pidOf(role)!;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => app.pidOf(role) !== undefined && app.pidOf(role) !== victim, {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: `${role} to be restarted`,
      });
      await waitFor(() => pingRedis(app.redisPort), { timeoutMs: 15_000, what: 'redis to answer' });
      await waitFor(async () => (await fetch(`${app.apiUrl}/ready`).catch(() => undefined))?.status === 200, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `the api to be ready again after ${role}`,
      });
      await waitAllSucceeded(await seedJobs(2), 60_000);
    }
    // Data kept: every earlier job is still there, succeeded.
    expect((await statusCounts(jobs.map((j) => j.jobId))).succeeded).toBe(jobs.length);
    expect(before).toBe(jobs.length - 4);
    expect(await exactlyOnceProblems()).toEqual([]);
  }, 180_000);

  it('Ctrl-C (SIGINT to the process group) stops everything and leaves no process behind', async () => {
    const pids = app.seenPids();
    expect(pids.size).toBeGreaterThanOrEqual(4);
    await db.end();
    app.interrupt();
    const exit = await waitFor(() => (app.proc.child.exitCode !== null ? app.proc.exited : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'npm start to exit',
    });
    expect(exit).toEqual({ code: 0, signal: null });
    expect([...pids].filter(isAlive)).toEqual([]);
    expect(app.startLines().at(-1)).toBe('[start] stopped');
  }, 90_000);
});
