// Fault: SIGTERM while jobs are in flight. The jobs a worker holds must finish
// (result, webhook, ack) and their spans reach the collector before it exits
// 0 within SHUTDOWN_GRACE_MS; entries it never read stay in the stream for the
// next worker. A job that cannot finish in time does not hold the process past
// the grace period: it stays pending and another worker takes it over.
//
// "In flight" is made certain, not hoped for: the test holds a row lock on
// the jobs, so every job a worker has taken waits at its first Postgres write
// until the test lets go, after the signal. The whole job (load, embed,
// cluster, write, webhook, ack) then runs during shutdown.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { waitFor } from '@media-cluster/testkit';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HookReceiver, startHookReceiver } from '../support/http-tools.js';
import { telemetryLeaks } from '../support/hygiene.js';
import { type Stack, startStack, type WorkerHandle } from '../support/stack.js';

const JOBS = 10;
const CONCURRENCY = 3;
const PHOTOS_PER_JOB = 6;
const GRACE_MS = 15_000;
/** The worker that cannot finish in time gets this grace period. */
const SHORT_GRACE_MS = 2_000;
const TOKEN = `sigterm-token-${randomBytes(6).toString('hex')}`;

let stack: Stack;
let hook: HookReceiver;
interface Job {
  jobId: string;
  traceId: string;
}
let jobs: Job[];
/** The test's row lock on some jobs: a worker taking one waits at its first write. */
let lock: { client: PoolClient; pid: number; release(): Promise<void> } | undefined;

beforeAll(async () => {
  hook = await startHookReceiver();
  // No worker yet: the whole backlog is queued before the first one starts.
  stack = await startStack({
    label: 'sigterm',
    workers: 0,
    workerEnv: { WORKER_CONCURRENCY: String(CONCURRENCY), SHUTDOWN_GRACE_MS: String(GRACE_MS) },
  });
  jobs = [];
  for (let i = 0; i < JOBS; i++) {
    const petId = stack.newPetId();
    await stack.uploadPhotos(petId, stack.newPhotos(PHOTOS_PER_JOB));
    jobs.push(await stack.createJob(petId, { callbackUrl: `${hook.url}/done/${i}?token=${TOKEN}` }));
  }
}, 120_000);
afterAll(async () => {
  await lock?.release();
  await stack?.stop();
  await hook?.stop();
});

/** Locks the jobs' rows in a transaction the test holds until `release()`. */
async function lockJobs(jobIds: string[]) {
  const client = await stack.db.connect();
  await client.query('BEGIN');
  await client.query('SELECT id FROM jobs WHERE id = ANY($1::uuid[]) FOR UPDATE', [jobIds]);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  let released = false;
  lock = {
    client,
    pid: rows[0]!.pid,
    async release() {
      if (released) return;
      released = true;
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    },
  };
  return lock;
}

/** Sessions waiting on the test's lock: jobs a worker has taken and started. */
async function waitingOnLock(): Promise<number> {
  const { rows } = await stack.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
    [lock!.pid],
  );
  return rows[0]!.n;
}

/** The worker's consumer name (`<hostname>-<pid>`), known before its `worker_started` line arrives. */
const consumerOf = (w: WorkerHandle) => `${hostname()}-${w.proc.child.pid}`;

/** Job ids of the entries pending for `consumer` (delivered, not acked). */
async function pendingJobs(consumer: string): Promise<string[]> {
  const { stream } = stack.keys;
  const { group } = stack.names;
  const pending = (await stack.redis.xpending(stream, group, '-', '+', 100, consumer)) as [string][];
  const ids = new Set(pending.map(([id]) => id));
  const entries = await stack.redis.xrange(stream, '-', '+');
  return entries
    .filter(([id]) => ids.has(id))
    .map(([, fields]) => fields[fields.indexOf('job_id') + 1]!)
    .sort();
}

async function groupInfo() {
  const { stream } = stack.keys;
  const { group } = stack.names;
  const groups = (await stack.redis.xinfo('GROUPS', stream)) as unknown[][];
  const pairs = (g: unknown[]) =>
    Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]]));
  const ours = groups.map(pairs).find((g) => g.name === group)!;
  const consumers = ((await stack.redis.xinfo('CONSUMERS', stream, group)) as unknown[][]).map(pairs);
  return { pending: Number(ours.pending), lag: Number(ours.lag), consumers };
}

const completedBy = (w: WorkerHandle) =>
  w.proc
    .logs()
    .filter((l) => l.event === 'job_completed')
    .map((l) => String(l.job_id))
    .sort();

let inFlight: string[];
let stuck: string[];

describe('SIGTERM under load', () => {
  it(`a worker with ${CONCURRENCY} jobs in flight finishes, acks and exports them, then exits 0 within the grace period`, async () => {
    await lockJobs(jobs.map((j) => j.jobId));
    const a = await stack.startWorker();
    const consumer = consumerOf(a);
    await waitFor(async () => (await waitingOnLock()) === CONCURRENCY, {
      timeoutMs: 20_000,
      what: `${CONCURRENCY} jobs started and waiting on the lock`,
    });
    inFlight = await pendingJobs(consumer);
    expect(inFlight).toHaveLength(CONCURRENCY);

    const signalledAt = Date.now();
    a.proc.child.kill('SIGTERM');
    await waitFor(() => a.proc.logs().some((l) => l.event === 'worker_stopping'), {
      what: 'the worker to start stopping',
    });
    // Still running its jobs: the signal does not cut them off.
    expect(a.proc.child.exitCode).toBeNull();
    await lock!.release();

    const exit = await a.proc.exited;
    const tookMs = Date.now() - signalledAt;
    expect(exit, a.proc.output()).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(GRACE_MS);
    expect(a.proc.logs().some((l) => l.event === 'shutdown_timeout')).toBe(false);

    // Each in-flight job ran to the end: result, webhook, one completion, first attempt.
    expect(completedBy(a)).toEqual(inFlight);
    const rows = await stack.jobRows(jobs.map((j) => j.jobId));
    for (const id of inFlight) expect(rows.get(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    const hooked = hook.requests.map((r) => (JSON.parse(r.body) as { jobId: string }).jobId).sort();
    expect(hooked).toEqual(inFlight);

    // Acked: nothing pending, and the worker left the group (it only does with nothing pending).
    const info = await groupInfo();
    expect(info.pending).toBe(0);
    expect(info.consumers.map((c) => c.name)).not.toContain(consumer);
    // It read nothing more after the signal: the rest is still in the stream, never delivered.
    expect(info.lag).toBe(JOBS - CONCURRENCY);
    const rest = jobs.filter((j) => !inFlight.includes(j.jobId));
    for (const j of rest) expect(rows.get(j.jobId)).toMatchObject({ status: 'queued', attempts: 0 });

    // The last spans were exported before exit: each in-flight job's CONSUMER span, ended
    // after the signal, from this very process (nothing can arrive from it any more).
    const processSpans = stack.otlp!.spans.filter(
      (s) =>
        s.name === `process ${stack.names.destination}` &&
        s.resource['process.pid'] === a.proc.child.pid &&
        inFlight.includes(String(s.attributes['media_cluster.job_id'])),
    );
    expect(processSpans.map((s) => s.attributes['media_cluster.job_id']).sort()).toEqual(inFlight);
    for (const span of processSpans) {
      expect(span.kind).toBe('CONSUMER');
      expect(span.status.code).not.toBe('ERROR');
      expect(Number(BigInt(span.endTimeUnixNano) / 1_000_000n)).toBeGreaterThanOrEqual(signalledAt);
      // ... and the stage spans under it.
      const names = stack.otlp!.spans.filter((s) => s.traceId === span.traceId).map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['embed', 'cluster', 'postgres.write']));
    }
  }, 60_000);

  it('a job that cannot finish in time does not hold the worker past SHUTDOWN_GRACE_MS: it stays pending', async () => {
    const rest = jobs.filter((j) => !inFlight.includes(j.jobId)).map((j) => j.jobId);
    await lockJobs(rest);
    const c = await stack.startWorker({ WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: String(SHORT_GRACE_MS) });
    await waitFor(async () => (await waitingOnLock()) === 1, {
      timeoutMs: 20_000,
      what: 'a job started and waiting on the lock',
    });
    stuck = await pendingJobs(consumerOf(c));
    expect(stuck).toHaveLength(1);

    const signalledAt = Date.now();
    c.proc.child.kill('SIGTERM');
    const exit = await c.proc.exited;
    const tookMs = Date.now() - signalledAt;
    // The grace timer ended it: not a hang, not a clean exit that would pretend the job finished.
    expect(exit).toEqual({ code: 1, signal: null });
    expect(c.proc.logs().some((l) => l.event === 'shutdown_timeout')).toBe(true);
    expect(tookMs).toBeGreaterThanOrEqual(SHORT_GRACE_MS);
    expect(tookMs).toBeLessThan(SHORT_GRACE_MS + 10_000);
    // The job is neither done nor lost: its entry is still pending for the dead consumer.
    expect(completedBy(c)).toEqual([]);
    expect(await pendingJobs(consumerOf(c))).toEqual(stuck);
    await lock!.release();
  }, 60_000);

  it('a second worker finishes everything exactly once: the entries never read and the one left pending', async () => {
    const b = await stack.startWorker();
    const rows = await stack.waitForJobs(
      jobs.map((j) => j.jobId),
      { timeoutMs: 45_000 },
    );
    expect([...rows.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
    // One completion per job across every worker: A's in-flight jobs were not redone.
    const completions = stack.completions();
    expect(jobs.filter((j) => completions.get(j.jobId) !== 1).map((j) => j.jobId)).toEqual([]);
    expect(completedBy(b)).toEqual(
      jobs
        .map((j) => j.jobId)
        .filter((id) => !inFlight.includes(id))
        .sort(),
    );
    // Only the job left pending by the timed-out worker ran a second attempt.
    for (const j of jobs) expect(rows.get(j.jobId)?.attempts, j.jobId).toBe(stuck.includes(j.jobId) ? 2 : 1);
    // One webhook per job.
    await waitFor(() => hook.requests.length >= JOBS, { what: 'a webhook per job' });
    const hooked = hook.requests.map((r) => (JSON.parse(r.body) as { jobId: string }).jobId).sort();
    expect(hooked).toEqual(jobs.map((j) => j.jobId).sort());
    // Acks are batched right after each job's result commits: wait for the last batch.
    const info = await waitFor(
      async () => {
        const current = await groupInfo();
        return current.pending === 0 && current.lag === 0 ? current : undefined;
      },
      { timeoutMs: 10_000, what: 'the last acks' },
    ).catch(() => groupInfo());
    expect(info.pending).toBe(0);
    expect(info.lag).toBe(0);
  }, 60_000);

  it('no raw pet id, API key, callback query string or image bytes reached telemetry', async () => {
    expect(await telemetryLeaks(stack, { secrets: [TOKEN] })).toEqual([]);
  });
});
