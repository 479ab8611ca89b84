// Overload with two real api processes on one Redis and Postgres (two replicas
// behind a load balancer): the per-owner write limits and the failed-
// authentication limit are shared by both; the backlog ceiling is kept by both;
// a refused request leaves nothing behind (no job row, no stream entry, no photo
// row, no blob); reads, /health and /ready never shed; a worker draining the
// backlog lets both admit again. The supertest versions (services/api/test:
// rate-limit, backpressure) check each rule in detail.
import { readdirSync } from 'node:fs';
import { waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { KEY_A, KEY_B, type Stack, startStack } from '../support/stack.js';

const KEY_C = 'stack-key-c-5555555555';
const PROBLEMS = 'https://media-cluster.dev/problems/';

let stack: Stack;
/** The two replicas: the stack's own api and a second process. */
let apis: { url: string; metricsUrl: string }[];

beforeAll(async () => {
  stack = await startStack({
    label: 'overload',
    workers: 0,
    apiEnv: {
      API_KEYS: `${KEY_A}:owner-a,${KEY_B}:owner-b,${KEY_C}:owner-c`,
      // Buckets that do not refill within the test: every token is counted.
      RATE_LIMIT_UPLOADS: '1/h',
      RATE_LIMIT_UPLOADS_BURST: '3',
      RATE_LIMIT_JOBS: '1/h',
      RATE_LIMIT_JOBS_BURST: '4',
      RATE_LIMIT_AUTH_FAILURES: '1/h',
      RATE_LIMIT_AUTH_FAILURES_BURST: '4',
      // The test's own requests come from 127.0.0.1; "attackers" are named by X-Forwarded-For.
      TRUST_PROXY: 'loopback',
      JOB_BACKLOG_CEILING: '8',
      BACKLOG_CACHE_MS: '20',
    },
  });
  const replica = await stack.startApiReplica();
  apis = [{ url: stack.apiUrl, metricsUrl: stack.apiMetricsUrl }, replica];
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function upload(api: number, petId: string, key: string) {
  stack.petIds.add(petId);
  const form = new FormData();
  form.append('photos', new Blob([stack.newPhotos(1)[0]!]), 'p.png');
  return fetch(`${apis[api]!.url}/v1/pets/${petId}/photos`, {
    method: 'POST',
    headers: bearer(key),
    body: form,
  });
}

function postJob(api: number, petId: string, key: string, headers: Record<string, string> = {}) {
  return fetch(`${apis[api]!.url}/v1/pets/${petId}/clustering-jobs`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json', ...headers },
    body: '{}',
  });
}

/** A problem+json answer with this status and code, and Retry-After matching its body. */
async function expectRefusal(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ type: `${PROBLEMS}${code}`, status, code });
  expect(res.headers.get('retry-after')).toBe(String(body.retryAfterSeconds));
  return body;
}

const count = async (sql: string, params: unknown[] = []) =>
  (await stack.db.query<{ n: number }>(sql, params)).rows[0]!.n;
const jobRows = (owner?: string) =>
  owner
    ? count('SELECT count(*)::int AS n FROM jobs WHERE owner = $1', [owner])
    : count('SELECT count(*)::int AS n FROM jobs');
const blobFiles = () =>
  readdirSync(stack.photoDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;

/** An api's /metrics value of `name`, summed over the series whose labels include `labels`. */
async function metric(api: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${apis[api]!.metricsUrl}/metrics`)).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (match?.[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      sum += Number(match[3]);
      found = true;
    }
  }
  if (!found) throw new Error(`no ${name} ${JSON.stringify(labels)} on api ${api}'s /metrics`);
  return sum;
}

describe('two api processes, one Redis', () => {
  it('share each owner’s write buckets: uploads and job creations beyond the burst are 429 on either', async () => {
    // Uploads, burst 3 for owner-a, spread over both processes.
    for (const [api, pet] of [
      [0, 'pet-ovl-a1'],
      [1, 'pet-ovl-a2'],
      [0, 'pet-ovl-a3'],
    ] as const) {
      expect((await upload(api, pet, KEY_A)).status).toBe(201);
    }
    const blobsBefore = blobFiles();
    const refusedUpload = await expectRefusal(await upload(1, 'pet-ovl-a4', KEY_A), 429, 'rate_limited');
    expect(refusedUpload).toMatchObject({ reason: 'uploads', limit: '1/h', burst: 3 });
    expect(await count("SELECT count(*)::int AS n FROM photos WHERE pet_id = 'pet-ovl-a4'")).toBe(0);
    expect(blobFiles()).toBe(blobsBefore);

    // Job creations, burst 4 for owner-a: two on each process, then both refuse.
    for (const api of [0, 1, 0, 1]) expect((await postJob(api, 'pet-ovl-a1', KEY_A)).status).toBe(202);
    for (const api of [0, 1]) {
      const body = await expectRefusal(
        await postJob(api, 'pet-ovl-a1', KEY_A, { 'idempotency-key': `ovl-refused-${api}` }),
        429,
        'rate_limited',
      );
      expect(body).toMatchObject({ reason: 'jobs', limit: '1/h', burst: 4 });
    }
    expect(await jobRows('owner-a')).toBe(4);
    expect(await stack.redis.xlen(stack.keys.stream)).toBe(4);
    expect(
      await count("SELECT count(*)::int AS n FROM jobs WHERE idempotency_key LIKE 'ovl-refused-%'"),
    ).toBe(0);

    // owner-b has buckets of its own.
    expect((await upload(1, 'pet-ovl-b1', KEY_B)).status).toBe(201);
    expect((await postJob(1, 'pet-ovl-b1', KEY_B)).status).toBe(202);

    // Each process counted the refusals it answered; the counters are shared by reason only.
    expect(await metric(0, 'media_cluster_rate_limited_total', { reason: 'uploads' })).toBe(0);
    expect(await metric(1, 'media_cluster_rate_limited_total', { reason: 'uploads' })).toBe(1);
    expect(await metric(0, 'media_cluster_rate_limited_total', { reason: 'jobs' })).toBe(1);
    expect(await metric(1, 'media_cluster_rate_limited_total', { reason: 'jobs' })).toBe(1);
  });

  it('share each address’ failed-authentication bucket: once spent, both refuse it, valid keys included', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.9' };
    const get = (api: number, headers: Record<string, string>) =>
      fetch(`${apis[api]!.url}/v1/pets/pet-ovl-a1/clusters`, { headers: { ...attacker, ...headers } });
    for (const api of [0, 1, 0, 1]) {
      expect((await get(api, bearer(`wrong-key-${api}-0123456789`))).status).toBe(401);
    }
    for (const api of [0, 1]) {
      const body = await expectRefusal(
        await get(api, bearer('wrong-key-x-0123456789')),
        429,
        'too_many_auth_failures',
      );
      expect(body).toMatchObject({ reason: 'auth_failures', limit: '1/h', burst: 4 });
      // The real key from that address: the same answer, so it cannot tell a hit from a miss.
      await expectRefusal(await get(api, bearer(KEY_A)), 429, 'too_many_auth_failures');
    }
    // Anyone else, on either process, is served.
    for (const api of [0, 1]) {
      const res = await fetch(`${apis[api]!.url}/v1/pets/pet-ovl-a1/clusters`, {
        headers: { ...bearer(KEY_A), 'x-forwarded-for': '203.0.113.10' },
      });
      expect(res.status).toBe(404);
    }
  });

  it('keep the backlog ceiling, leave nothing behind when refusing, never shed reads, and admit again once drained', async () => {
    // Backlog so far: 5 (owner-a 4, owner-b 1), ceiling 8. owner-c fills it on process 0 alone.
    expect((await upload(0, 'pet-ovl-c1', KEY_C)).status).toBe(201);
    const accepted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postJob(0, 'pet-ovl-c1', KEY_C);
      expect(res.status).toBe(202);
      accepted.push(((await res.json()) as { jobId: string }).jobId);
    }
    const rowsBefore = await jobRows();
    const blobsBefore = blobFiles();
    expect(rowsBefore).toBe(8);

    // Process 1 has not seen those three: its next reading does.
    const body = await expectRefusal(
      await postJob(1, 'pet-ovl-c1', KEY_C, { 'idempotency-key': 'ovl-shed' }),
      503,
      'queue_full',
    );
    expect(body).toMatchObject({ backlog: 8, ceiling: 8, drainPerSecond: null, retryAfterSeconds: 60 });
    expect(await jobRows()).toBe(rowsBefore);
    expect(await stack.redis.xlen(stack.keys.stream)).toBe(8);
    expect(blobFiles()).toBe(blobsBefore);
    expect(await count("SELECT count(*)::int AS n FROM jobs WHERE idempotency_key = 'ovl-shed'")).toBe(0);

    // Reads, health and readiness on both processes, while job creation is shed.
    for (const api of [0, 1]) {
      const job = await fetch(`${apis[api]!.url}/v1/jobs/${accepted[0]}`, { headers: bearer(KEY_C) });
      expect(job.status).toBe(200);
      expect((await fetch(`${apis[api]!.url}/health`)).status).toBe(200);
      expect((await fetch(`${apis[api]!.url}/ready`)).status).toBe(200);
    }
    expect(await metric(1, 'media_cluster_jobs_shed_total')).toBe(1);
    expect(await metric(1, 'media_cluster_job_backlog_ceiling')).toBe(8);
    expect(await metric(1, 'media_cluster_job_backlog')).toBe(8);

    // A worker drains the backlog; both processes admit again (owner-b has 3 tokens left).
    await stack.startWorker();
    await waitFor(async () => (await metric(0, 'media_cluster_job_backlog').catch(() => -1)) === 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the backlog to drain',
    });
    for (const api of [0, 1]) expect((await postJob(api, 'pet-ovl-b1', KEY_B)).status).toBe(202);
    const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM jobs');
    const done = await stack.waitForJobs(rows.map((r) => r.id));
    expect([...done.values()].every((r) => r.status === 'succeeded')).toBe(true);
    // Every accepted job ran once: one completion each.
    const completions = stack.completions();
    expect(rows.map((r) => completions.get(r.id) ?? 0)).toEqual(rows.map(() => 1));
  });

  it('telemetry hygiene: no pet id or key (wrong ones included) in any span, metric label or log line', async () => {
    // (The client address is in the server spans' client.address, as HTTP semconv has it.)
    expect(
      await telemetryLeaks(stack, { secrets: [KEY_C, 'wrong-key-x-0123456789', 'wrong-key-0-0123456789'] }),
    ).toEqual([]);
  });
});
