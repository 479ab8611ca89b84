#!/usr/bin/env node
// `pnpm bench overload [--seconds 60] [--factor 3] [--workers 1] [--photos 4] [--owners 6]
//                      [--greedy-share 0.4] [--bad-share 0.05] [--read-rate 20]
//                      [--calibrate-seconds 20] [--ceiling-seconds 10] [--ceiling N] [--pin]
//                      [--owner-limit-share 0.6] [--backlog-cache-ms 250] [--drain-timeout 900]
//                      [--skip-build] [--label text] [--out overload]`
//
// The api under a flood of job creations it cannot serve, through the REAL api and worker
// processes (services/*/dist with `node --import @media-cluster/telemetry/register`, full
// telemetry to testkit's OTLP receiver in a process of its own) on a private redis-server and
// PostgreSQL from testkit:
//  1. Set-up (untimed): `owners` owners with 2 pets each, `photos` photos per pet.
//  2. Capacity: the backlog is kept topped up (closed loop) for `calibrate-seconds` after a warm-up;
//     capacity = jobs the worker(s) finished per second. Then drained.
//  3. The api is restarted with the limits under test, derived from that capacity:
//     JOB_BACKLOG_CEILING = capacity x `ceiling-seconds` (or `--ceiling`), RATE_LIMIT_JOBS per owner =
//     capacity x `owner-limit-share` per second (burst: 2 s of it), RATE_LIMIT_AUTH_FAILURES 10/min
//     (burst 20) per client address.
//  4. Flood: for `seconds` s, job creations offered open-loop (arrivals do not wait for answers) at
//     `factor` x capacity, each with a unique Idempotency-Key: `bad-share` of them with wrong keys
//     from two "attacker" addresses, the rest from the owners, one of them ("greedy") sending
//     `greedy-share` of the traffic, each owner from a loopback address of its own (127.0.0.x), so
//     the per-address failed-authentication limit sees real client addresses. Meanwhile `read-rate`
//     reads per second (job status, pet clusters) from the owners. The queue's backlog is sampled
//     every 100 ms (XINFO GROUPS + ZCARD, as the api reads it).
//  5. Drain: the offer stops; reads go on until every accepted job finished.
// `--pin`: the api on CPU 0, the worker(s) on CPU 1 (taskset), as if on machines of their own; the
// rest (Postgres, Redis, this load generator) unpinned.
// Reported per second: offered, accepted (202), 429, 503, 401, backlog (max of the samples), read and
// job-creation p50/p95/p99 (answered requests), worker throughput (jobs finished); then the time to
// drain, and each "done when" figure of issue 18 with met / not met. Also measured: what a backlog
// read costs (client round trip; Redis' own time from INFO commandstats) and how many the api made
// (one per BACKLOG_CACHE_MS at most, against one per request without the cache), and the rate
// limiter's Lua script time per request. Writes bench/results/<out>.json and <out>.svg (backlog and
// latencies over time).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterPhotoFiles } from './lib/photos.mjs';
import { buildServices, startOtlpSink, startService } from './lib/services.mjs';
import { loadText, machine, markdownTable, percentile, repoRoot, round, writeResults } from './lib/stats.mjs';
import { svgChart } from './lib/svg-plot.mjs';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    factor: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
    photos: { type: 'string', default: '4' },
    owners: { type: 'string', default: '6' },
    'greedy-share': { type: 'string', default: '0.4' },
    'bad-share': { type: 'string', default: '0.05' },
    'read-rate': { type: 'string', default: '20' },
    'calibrate-seconds': { type: 'string', default: '20' },
    'ceiling-seconds': { type: 'string', default: '10' },
    ceiling: { type: 'string', default: '0' },
    'owner-limit-share': { type: 'string', default: '0.6' },
    'backlog-cache-ms': { type: 'string', default: '250' },
    'drain-timeout': { type: 'string', default: '900' },
    pin: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: 'overload' },
  },
});
const num = (key) => Number(opts[key]);
const floodSeconds = num('seconds');
const factor = num('factor');
const workerCount = num('workers');
const photosPerPet = num('photos');
const ownerCount = Math.max(2, num('owners'));
const greedyShare = num('greedy-share');
const badShare = num('bad-share');
const readRate = num('read-rate');
const calibrateSeconds = num('calibrate-seconds');
const cacheMs = num('backlog-cache-ms');
const PETS_PER_OWNER = 2;
const CALIBRATION_WARMUP_S = 3;
/** Goals of issue 18 ("Done when"). */
const GOALS = { readP95Ms: 200, createP95Ms: 2_000, queueP95S: 60 };

if (!opts['skip-build']) buildServices();
const { startPostgres, startRedis, freePort, makeTempDir, removeTempDir } = await import(
  '@media-cluster/testkit'
);
const { queueNames } = await import('@media-cluster/queue');
const { Redis } = await import('ioredis');
const { default: pg } = await import('pg');

const PREFIX = 'bench-overload';
const names = queueNames(PREFIX);
const owners = Array.from({ length: ownerCount }, (_, i) => ({
  name: `owner-${i}`,
  key: `bench-overload-key-${i}-0123456789`,
  // Each owner's requests come from a loopback address of its own.
  address: `127.0.0.${10 + i}`,
  pets: Array.from({ length: PETS_PER_OWNER }, (_, p) => `ovl-pet-${i}-${p}`),
}));
const attackers = ['127.0.0.200', '127.0.0.201'].map((address, i) => ({
  address,
  key: `not-a-key-${i}-0123456789`,
}));

const redisServer = await startRedis({ appendOnly: false });
const postgres = await startPostgres();
const sink = await startOtlpSink();
const photoDir = makeTempDir('bench-overload-photos');
const admin = new Redis(redisServer.url);
const db = new pg.Pool({ connectionString: postgres.url, max: 4 });
const [apiPort, apiMetricsPort] = [await freePort(), await freePort()];
const apiHost = '127.0.0.1';
const shared = {
  ...sink.exporterEnv(),
  REDIS_URL: redisServer.url,
  DATABASE_URL: postgres.url,
  API_KEYS: owners.map((o) => `${o.key}:${o.name}`).join(','),
  QUEUE_PREFIX: PREFIX,
  PHOTO_DIR: photoDir,
  LOG_LEVEL: 'info',
};

// ------------------------------------------------------------------ processes

/** Jobs each worker logged as completed (a job completed twice would show up here). */
const completions = new Map();
const workers = [];
let api;

async function startApi(env) {
  api = await startService({
    name: 'api',
    cpus: opts.pin ? '0' : undefined,
    env: { ...shared, PORT: String(apiPort), METRICS_PORT: String(apiMetricsPort), ...env },
    readyUrl: `http://${apiHost}:${apiMetricsPort}/ready`,
  });
}

async function startWorkers() {
  for (let i = 0; i < workerCount; i++) {
    const port = await freePort();
    workers.push(
      await startService({
        name: 'worker',
        cpus: opts.pin ? '1' : undefined,
        env: {
          ...shared,
          WORKER_METRICS_PORT: String(port),
          OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=bench-worker-${i}`,
        },
        readyUrl: `http://${apiHost}:${port}/ready`,
        onLogLine: (line) => {
          if (line.event === 'job_completed' && typeof line.job_id === 'string')
            completions.set(line.job_id, (completions.get(line.job_id) ?? 0) + 1);
        },
      }),
    );
  }
}

// ------------------------------------------------------------------ HTTP client

const agents = new Map();
/** A keep-alive agent per client address: each simulated client has its own connections. */
function agentFor(address) {
  let agent = agents.get(address);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 256, localAddress: address });
    agents.set(address, agent);
  }
  return agent;
}

/** One request; resolves `{ status, ms, body }` (status 0: no answer, with `error`). */
function call({ method, path, address, headers = {}, body }) {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: apiHost, port: apiPort, method, path, headers, agent: agentFor(address), timeout: 30_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            body: Buffer.concat(chunks).toString(),
            retryAfter: res.headers['retry-after'],
          }),
        );
        res.on('error', (error) =>
          resolve({ status: 0, ms: performance.now() - started, error: error.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, error: error.message }));
    req.end(body);
  });
}

const bearer = (key) => ({ authorization: `Bearer ${key}` });

function createJob(owner, { key = owner.key, address = owner.address } = {}) {
  const pet = owner.pets[Math.floor(Math.random() * owner.pets.length)];
  return call({
    method: 'POST',
    path: `/v1/pets/${pet}/clustering-jobs`,
    address,
    headers: { ...bearer(key), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: '{}',
  });
}

async function uploadAll() {
  const files = clusterPhotoFiles();
  let n = 0;
  for (const owner of owners) {
    for (const pet of owner.pets) {
      const form = new FormData();
      for (let i = 0; i < photosPerPet; i++) {
        const f = files[(n * photosPerPet + i) % files.length];
        form.append('photos', new Blob([f.bytes]), f.name);
      }
      n++;
      const res = await fetch(`http://${apiHost}:${apiPort}/v1/pets/${pet}/photos`, {
        method: 'POST',
        headers: bearer(owner.key),
        body: form,
      });
      if (res.status !== 201) throw new Error(`upload for ${pet}: ${res.status} ${await res.text()}`);
    }
  }
}

// ------------------------------------------------------------------ the queue, as the api reads it

/** XINFO GROUPS + ZCARD: backlog = pending + lag + delayed (the api's readBacklog, in short). */
async function readBacklog() {
  const [groups, delayed] = await Promise.all([
    admin.xinfo('GROUPS', names.shards[0].stream).catch(() => []),
    admin.zcard(names.shards[0].delayed),
  ]);
  for (const g of groups) {
    const info = new Map();
    for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
    if (info.get('name') !== names.group) continue;
    return Number(info.get('pending') ?? 0) + Number(info.get('lag') ?? 0) + delayed;
  }
  return (await admin.xlen(names.shards[0].stream).catch(() => 0)) + delayed;
}

/** Redis' INFO commandstats as `{ command: { calls, usec } }`. */
async function commandStats() {
  const text = await admin.info('commandstats');
  const stats = {};
  for (const m of text.matchAll(/^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/gm)) {
    stats[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return stats;
}

const statDelta = (after, before, cmd) => ({
  calls: (after[cmd]?.calls ?? 0) - (before[cmd]?.calls ?? 0),
  usec: (after[cmd]?.usec ?? 0) - (before[cmd]?.usec ?? 0),
});

async function waitUntil(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ phases

/** Keeps the backlog topped up and counts the jobs finished per second: the workers' capacity. */
async function calibrate() {
  const target = Math.max(20, workerCount * 8);
  let stop = false;
  const feeder = (async () => {
    let i = 0;
    while (!stop) {
      const backlog = await readBacklog();
      const missing = target - backlog;
      await Promise.all(
        Array.from({ length: Math.max(0, missing) }, () => createJob(owners[i++ % owners.length])),
      );
      await sleep(100);
    }
  })();
  await sleep(CALIBRATION_WARMUP_S * 1000);
  const from = new Date();
  await sleep(calibrateSeconds * 1000);
  const to = new Date();
  stop = true;
  await feeder;
  const { rows } = await db.query(
    "SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded' AND finished_at >= $1 AND finished_at < $2",
    [from, to],
  );
  await waitUntil(async () => (await readBacklog()) === 0, 600_000, 'the calibration backlog to drain');
  return rows[0].n / ((to - from) / 1000);
}

/** Time-bucketed samples relative to the flood start (s). */
const buckets = new Map();
function bucket(second) {
  let b = buckets.get(second);
  if (!b) {
    b = {
      offered: 0,
      status: {},
      auth429: 0,
      createMs: [],
      readMs: [],
      readErrors: 0,
      backlog: 0,
      noAnswer: 0,
    };
    buckets.set(second, b);
  }
  return b;
}

/** Offers job creations open-loop; every 202 goes into `accepted` at once (the readers use it). */
async function flood(t0, accepted) {
  const rate = factor * capacity;
  const pending = new Set();
  const greedyWeight = greedyShare;
  const otherWeight = (1 - greedyShare) / (ownerCount - 1);
  let maxInFlight = 0;
  const pickOwner = () => {
    const r = Math.random();
    if (r < greedyWeight) return owners[0];
    return owners[1 + Math.min(ownerCount - 2, Math.floor((r - greedyWeight) / otherWeight))];
  };
  const endAt = t0 + floodSeconds * 1000;
  let next = t0;
  let sent = 0;
  while (next < endAt) {
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    const second = Math.floor((next - t0) / 1000);
    const b = bucket(second);
    b.offered++;
    const bad = Math.random() < badShare;
    const attacker = attackers[sent % attackers.length];
    const owner = pickOwner();
    const p = (
      bad ? createJob(owner, { key: attacker.key, address: attacker.address }) : createJob(owner)
    ).then((res) => {
      pending.delete(p);
      const answered = bucket(second);
      if (res.status === 0) {
        answered.noAnswer++;
        return;
      }
      answered.status[res.status] = (answered.status[res.status] ?? 0) + 1;
      answered.createMs.push(res.ms);
      if (res.status === 202) accepted.push({ jobId: JSON.parse(res.body).jobId, owner: owner.name });
    });
    pending.add(p);
    maxInFlight = Math.max(maxInFlight, pending.size);
    sent++;
    // Exponential gaps: arrivals as a Poisson process at `rate`.
    next += (-Math.log(1 - Math.random()) / rate) * 1000;
  }
  await Promise.all(pending);
  return { sent, rate, maxInFlight };
}

/** Reads at `readRate` per second until `stop()`: job status of an accepted job, or a pet's clusters. */
function startReads(t0, accepted) {
  let stopped = false;
  const inflight = new Set();
  const loop = (async () => {
    let i = 0;
    let next = performance.now();
    while (!stopped) {
      const wait = next - performance.now();
      if (wait > 1) await sleep(wait);
      const second = Math.floor((next - t0) / 1000);
      const owner = owners[i % owners.length];
      const job =
        i % 2 === 0 && accepted.length > 0 ? accepted[Math.floor(Math.random() * accepted.length)] : null;
      const reader = job ? owners.find((o) => o.name === job.owner) : owner;
      const path = job ? `/v1/jobs/${job.jobId}` : `/v1/pets/${owner.pets[i % PETS_PER_OWNER]}/clusters`;
      const p = call({ method: 'GET', path, address: reader.address, headers: bearer(reader.key) }).then(
        (res) => {
          inflight.delete(p);
          const b = bucket(second);
          if (res.status === 200 || res.status === 404) b.readMs.push(res.ms);
          else b.readErrors++;
        },
      );
      inflight.add(p);
      i++;
      next += 1000 / readRate;
    }
    await Promise.all(inflight);
  })();
  return () => {
    stopped = true;
    return loop;
  };
}

/** Samples the backlog every 100 ms into the per-second buckets; returns stop() -> the samples taken. */
function startBacklogSampler(t0) {
  let stopped = false;
  let samples = 0;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      const backlog = await readBacklog().catch(() => undefined);
      samples++;
      if (backlog !== undefined) {
        const b = bucket(Math.floor((at - t0) / 1000));
        b.backlog = Math.max(b.backlog, backlog);
        b.sampled = true;
      }
      await sleep(Math.max(0, 100 - (performance.now() - at)));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return samples;
  };
}

const HTTP_BUCKETS = 'http_server_request_duration_seconds_bucket';

/** The api's HTTP duration histogram from its /metrics: `{ "<method> <route>": Map(le -> count) }`. */
async function serverHistogram() {
  const text = await (await fetch(`http://${apiHost}:${apiMetricsPort}/metrics`)).text();
  const routes = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${HTTP_BUCKETS}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels.http_request_method} ${labels.http_route}`;
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    routes[key] ??= new Map();
    routes[key].set(le, (routes[key].get(le) ?? 0) + Number(line.split(' ').at(-1)));
  }
  return routes;
}

/**
 * p50/p95 per route from the difference of two histogram scrapes, interpolated within a bucket
 * as Prometheus' histogram_quantile does: the api's own view, without the load generator's delays.
 */
function serverLatency(before, after) {
  const out = {};
  for (const [route, buckets] of Object.entries(after)) {
    const bounds = [...buckets.keys()].sort((a, b) => a - b);
    const counts = bounds.map((le) => buckets.get(le) - (before[route]?.get(le) ?? 0));
    const total = counts.at(-1);
    if (!(total > 0)) continue;
    const quantile = (q) => {
      const rank = q * total;
      const i = counts.findIndex((c) => c >= rank);
      if (!Number.isFinite(bounds[i])) return bounds[i - 1] * 1000;
      const lower = i === 0 ? 0 : bounds[i - 1];
      const below = i === 0 ? 0 : counts[i - 1];
      return (lower + ((bounds[i] - lower) * (rank - below)) / Math.max(1, counts[i] - below)) * 1000;
    };
    out[route] = { requests: total, p50_ms: round(quantile(0.5), 1), p95_ms: round(quantile(0.95), 1) };
  }
  return out;
}

/** Client-side cost of one backlog read, and Redis' own, from `count` sequential reads. */
async function measureBacklogRead(count = 2_000) {
  const before = await commandStats();
  const started = performance.now();
  for (let i = 0; i < count; i++) await readBacklog();
  const ms = performance.now() - started;
  const after = await commandStats();
  const xinfo = statDelta(after, before, 'xinfo|groups');
  const fallback = statDelta(after, before, 'xinfo');
  const redis = xinfo.calls > 0 ? xinfo : fallback;
  const zcard = statDelta(after, before, 'zcard');
  return {
    reads: count,
    round_trip_us: round((ms * 1000) / count, 1),
    redis_xinfo_groups_us: round(redis.usec / Math.max(1, redis.calls), 2),
    redis_zcard_us: round(zcard.usec / Math.max(1, zcard.calls), 2),
  };
}

/**
 * What one rate-limiter check costs, measured like the backlog read: the api's own limiter (built
 * dist) against this Redis, `count` sequential checks of each kind, with limits it never reaches.
 */
async function measureLimiter(count = 2_000) {
  const { createRateLimiter } = await import(
    pathToFileURL(join(repoRoot, 'services', 'api', 'dist', 'overload', 'rate-limiter.js')).href
  );
  const never = { rate: { perSecond: 1e6, text: '1000000/s' }, burst: 1e9 };
  const limiter = createRateLimiter({
    redis: admin,
    prefix: 'bench-limiter-cost',
    limits: { jobs: never, uploads: never, authFailures: never },
    logger: { warn: (line) => console.error('limiter:', line) },
  });
  const measure = async (check) => {
    const before = await commandStats();
    const started = performance.now();
    for (let i = 0; i < count; i++) await check();
    const ms = performance.now() - started;
    const evalsha = statDelta(await commandStats(), before, 'evalsha');
    return {
      checks: count,
      round_trip_us: round((ms * 1000) / count, 1),
      redis_us: round(evalsha.usec / Math.max(1, evalsha.calls), 2),
    };
  };
  return {
    read_check: await measure(() => limiter.admit('127.0.0.9')),
    write_check: await measure(() => limiter.admit('127.0.0.9', { owner: 'cost', kind: 'jobs' })),
  };
}

// ------------------------------------------------------------------ run

let capacity = 0;
const report = { meta: {}, per_second: [] };
try {
  await startApi({ JOB_BACKLOG_CEILING: '0' });
  await startWorkers();
  await uploadAll();
  console.error(
    `overload bench: ${workerCount} worker(s), ${photosPerPet} photos per job, ${ownerCount} owners; load ${loadText()}`,
  );
  console.error(
    `calibrating: backlog kept topped up, ${CALIBRATION_WARMUP_S} s warm-up + ${calibrateSeconds} s...`,
  );
  capacity = await calibrate();
  if (!(capacity > 0)) throw new Error('the workers finished no job while calibrating');
  const ceiling =
    num('ceiling') > 0 ? num('ceiling') : Math.max(10, Math.round(capacity * num('ceiling-seconds')));
  const ownerRate = Math.max(1, Math.round(capacity * num('owner-limit-share')));
  const limits = {
    JOB_BACKLOG_CEILING: String(ceiling),
    BACKLOG_CACHE_MS: String(cacheMs),
    RATE_LIMIT_JOBS: `${ownerRate}/s`,
    RATE_LIMIT_JOBS_BURST: String(ownerRate * 2),
    RATE_LIMIT_AUTH_FAILURES: '10/min',
    RATE_LIMIT_AUTH_FAILURES_BURST: '20',
  };
  console.error(
    `capacity ${capacity.toFixed(2)} jobs/s; flood at ${factor}x = ${(factor * capacity).toFixed(1)} req/s for ${floodSeconds} s; ${JSON.stringify(limits)}`,
  );
  await api.stop();
  await startApi(limits);
  const readCost = await measureBacklogRead();
  const limiterCost = await measureLimiter();

  const { rows: before } = await db.query('SELECT count(*)::int AS n FROM jobs');
  const streamBefore = Number(
    (await admin.xinfo('STREAM', names.shards[0].stream)).find((_, i, a) => a[i - 1] === 'entries-added'),
  );
  const statsBefore = await commandStats();
  const cpuBefore = { api: api.cpuMs(), workers: workers.map((w) => w.cpuMs()) };
  await sink.stats();

  const histogramBefore = await serverHistogram();
  const t0 = performance.now();
  const wallStart = Date.now();
  const accepted = [];
  const stopSampler = startBacklogSampler(t0);
  const stopReads = startReads(t0, accepted);
  const result = await flood(t0, accepted);
  const floodEnd = performance.now();
  const floodEndWall = Date.now();
  const serverSide = serverLatency(histogramBefore, await serverHistogram());
  console.error(`flood over: ${accepted.length} accepted of ${result.sent} offered; draining...`);

  // Drain: until every accepted job finished (succeeded, or dead-lettered after its attempts).
  const ids = accepted.map((a) => a.jobId);
  await waitUntil(
    async () => {
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'dead_lettered')",
        [ids],
      );
      return rows[0].n === ids.length;
    },
    num('drain-timeout') * 1000,
    'the accepted jobs to finish',
  );
  const drainedAt = performance.now();
  await stopReads();
  const backlogSamples = await stopSampler();
  const statsAfter = await commandStats();
  const cpu = {
    api_ms: api.cpuMs() - cpuBefore.api,
    workers_ms: workers.map((w, i) => w.cpuMs() - cpuBefore.workers[i]),
  };
  const sinkStats = await sink.stats();

  // ---------------------------------------------------------------- figures
  const { rows: jobs } = await db.query(
    `SELECT id, status, attempts,
            extract(epoch FROM created_at) * 1000 AS created,
            extract(epoch FROM started_at) * 1000 AS started,
            extract(epoch FROM finished_at) * 1000 AS finished
       FROM jobs WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const { rows: after } = await db.query('SELECT count(*)::int AS n FROM jobs');
  const streamAfter = Number(
    (await admin.xinfo('STREAM', names.shards[0].stream)).find((_, i, a) => a[i - 1] === 'entries-added'),
  );
  const lastFinished = Math.max(...jobs.map((j) => Number(j.finished)));
  for (const j of jobs) {
    const second = Math.floor((Number(j.finished) - wallStart) / 1000);
    const b = bucket(second);
    b.finished = (b.finished ?? 0) + 1;
  }
  const lastSecond = Math.max(...buckets.keys());
  const perSecond = [];
  for (let s = 0; s <= lastSecond; s++) {
    const b = bucket(s);
    perSecond.push({
      t: s,
      phase: s < floodSeconds ? 'flood' : 'drain',
      offered: b.offered,
      accepted: b.status[202] ?? 0,
      r429: b.status[429] ?? 0,
      r429_auth: b.auth429,
      r503: b.status[503] ?? 0,
      r401: b.status[401] ?? 0,
      other: Object.entries(b.status)
        .filter(([k]) => !['202', '429', '503', '401'].includes(k))
        .reduce((sum, [, v]) => sum + v, 0),
      no_answer: b.noAnswer,
      backlog: b.sampled ? b.backlog : null,
      read_p50_ms: round(percentile(b.readMs, 50), 1),
      read_p95_ms: round(percentile(b.readMs, 95), 1),
      read_p99_ms: round(percentile(b.readMs, 99), 1),
      reads: b.readMs.length,
      read_errors: b.readErrors,
      create_p50_ms: round(percentile(b.createMs, 50), 1),
      create_p95_ms: round(percentile(b.createMs, 95), 1),
      create_p99_ms: round(percentile(b.createMs, 99), 1),
      worker_jobs: b.finished ?? 0,
    });
  }
  const floodBuckets = [...buckets.entries()].filter(([s]) => s < floodSeconds).map(([, b]) => b);
  const readMs = floodBuckets.flatMap((b) => b.readMs);
  const createMs = floodBuckets.flatMap((b) => b.createMs);
  const queueLatencyS = jobs.map((j) => (Number(j.started) - Number(j.created)) / 1000);
  const totals = (key) => perSecond.reduce((sum, r) => sum + r[key], 0);
  const succeeded = jobs.filter((j) => j.status === 'succeeded').length;
  const uniqueIds = new Set(ids).size;
  const completedTwice = ids.filter((id) => (completions.get(id) ?? 0) > 1).length;
  const retries = jobs.reduce((sum, j) => sum + Math.max(0, j.attempts - 1), 0);
  const maxBacklog = Math.max(0, ...perSecond.map((r) => r.backlog ?? 0));
  const figures = {
    capacity_jobs_per_s: round(capacity, 2),
    offered_per_s: round(result.rate, 1),
    offered: result.sent,
    accepted: ids.length,
    refused_429: totals('r429'),
    refused_429_auth_failures: totals('r429_auth'),
    refused_503: totals('r503'),
    refused_401: totals('r401'),
    other_status: totals('other'),
    no_answer: totals('no_answer'),
    load_generator_max_in_flight: result.maxInFlight,
    read_p50_ms: round(percentile(readMs, 50), 1),
    read_p95_ms: round(percentile(readMs, 95), 1),
    read_p99_ms: round(percentile(readMs, 99), 1),
    read_errors: floodBuckets.reduce((sum, b) => sum + b.readErrors, 0),
    create_p50_ms: round(percentile(createMs, 50), 1),
    create_p95_ms: round(percentile(createMs, 95), 1),
    create_p99_ms: round(percentile(createMs, 99), 1),
    backlog_max: maxBacklog,
    backlog_ceiling: ceiling,
    queue_latency_p50_s: round(percentile(queueLatencyS, 50), 2),
    queue_latency_p95_s: round(percentile(queueLatencyS, 95), 2),
    drain_s: round((lastFinished - floodEndWall) / 1000, 1),
    drain_observed_s: round((drainedAt - floodEnd) / 1000, 1),
    succeeded,
    lost: ids.length - succeeded,
    duplicated_ids: ids.length - uniqueIds,
    completed_twice: completedTwice,
    job_rows_added: after[0].n - before[0].n,
    stream_entries_added: streamAfter - streamBefore,
    retries,
  };
  // A duplicate is a job run twice, two answers naming one job, or a row or entry no 202 accounts for.
  const duplicated =
    figures.duplicated_ids +
    completedTwice +
    Math.max(0, figures.job_rows_added - ids.length) +
    Math.max(0, figures.stream_entries_added - retries - ids.length);
  figures.server_side_during_flood = serverSide;
  const goals = [
    [
      'read p95 during the flood',
      `${figures.read_p95_ms} ms`,
      `< ${GOALS.readP95Ms} ms`,
      figures.read_p95_ms < GOALS.readP95Ms,
    ],
    [
      'job-creation p95 (answered)',
      `${figures.create_p95_ms} ms`,
      `< ${GOALS.createP95Ms} ms`,
      figures.create_p95_ms < GOALS.createP95Ms,
    ],
    ['backlog never above the ceiling', `max ${maxBacklog}`, `<= ${ceiling}`, maxBacklog <= ceiling],
    [
      'queue latency p95 of accepted jobs',
      `${figures.queue_latency_p95_s} s`,
      `< ${GOALS.queueP95S} s`,
      figures.queue_latency_p95_s < GOALS.queueP95S,
    ],
    [
      'every accepted job succeeded after the drain',
      `${succeeded}/${ids.length}`,
      'all',
      succeeded === ids.length,
    ],
    ['lost', String(figures.lost), '0', figures.lost === 0],
    ['duplicated', String(duplicated), '0', duplicated === 0],
    [
      'no refused request left a job row or stream entry',
      `${figures.job_rows_added} rows, ${figures.stream_entries_added - retries} entries for ${ids.length} accepted`,
      'equal',
      figures.job_rows_added === ids.length && figures.stream_entries_added - retries === ids.length,
    ],
  ].map(([goal, value, target, ok]) => ({ goal, value, target, result: ok ? 'met' : 'not met' }));

  // What the backlog check cost: the api's reads against one per job request.
  const xinfoApi =
    statDelta(statsAfter, statsBefore, 'xinfo|groups').calls ||
    statDelta(statsAfter, statsBefore, 'xinfo').calls;
  const apiBacklogReads = xinfoApi - backlogSamples;
  const evalsha = statDelta(statsAfter, statsBefore, 'evalsha');
  const createRequests = figures.offered;
  const readRequests = totals('reads') + totals('read_errors');
  const cost = {
    backlog_read: readCost,
    api_backlog_reads: apiBacklogReads,
    job_requests: createRequests,
    backlog_reads_per_job_request: round(apiBacklogReads / createRequests, 3),
    bench_sampler_reads: backlogSamples,
    rate_limiter: limiterCost,
    rate_limiter_scripts: evalsha.calls,
    rate_limiter_script_us_during_flood: round(evalsha.usec / Math.max(1, evalsha.calls), 2),
    rate_limiter_scripts_per_request: round(evalsha.calls / (createRequests + readRequests), 3),
    api_cpu_ms: cpu.api_ms,
    worker_cpu_ms: cpu.workers_ms,
    api_cpu_us_per_request: round((cpu.api_ms * 1000) / (createRequests + readRequests)),
    otlp_sink: sinkStats,
  };

  // ---------------------------------------------------------------- print
  console.log(
    `\noverload: capacity ${figures.capacity_jobs_per_s} jobs/s (${workerCount} worker(s), ${photosPerPet} photos/job), ` +
      `offered ${figures.offered_per_s} job creations/s (${factor}x) for ${floodSeconds} s; ceiling ${ceiling}, ` +
      `owner limit ${limits.RATE_LIMIT_JOBS} (burst ${limits.RATE_LIMIT_JOBS_BURST}); load average ${loadText()}` +
      (opts.label ? `; ${opts.label}` : ''),
  );
  console.log(
    markdownTable(
      [
        ['t s', (r) => `${r.t}${r.phase === 'drain' ? ' (drain)' : ''}`, 'left'],
        ['offered', (r) => r.offered],
        ['202', (r) => r.accepted],
        ['429 (auth)', (r) => `${r.r429} (${r.r429_auth})`],
        ['503', (r) => r.r503],
        ['401', (r) => r.r401],
        ['backlog', (r) => r.backlog ?? ''],
        [
          'read p50/p95/p99 ms',
          (r) => (r.reads ? `${r.read_p50_ms} / ${r.read_p95_ms} / ${r.read_p99_ms}` : ''),
        ],
        [
          'create p50/p95/p99 ms',
          (r) =>
            Number.isFinite(r.create_p50_ms)
              ? `${r.create_p50_ms} / ${r.create_p95_ms} / ${r.create_p99_ms}`
              : '',
        ],
        ['worker jobs/s', (r) => r.worker_jobs],
      ],
      perSecond,
    ),
  );
  console.log(
    `\nflood totals: ${figures.offered} offered, ${figures.accepted} accepted, ${figures.refused_429} x 429, ` +
      `(${figures.refused_429_auth_failures} of them an address over its failed authentications), ` +
      `${figures.refused_503} x 503, ${figures.refused_401} x 401, ${figures.other_status} other, ${figures.no_answer} unanswered; ` +
      `time to drain ${figures.drain_s} s after the flood; queue latency p50 ${figures.queue_latency_p50_s} s`,
  );
  console.log(
    `as the api measured them during the flood (http_server_request_duration_seconds, no load-generator delay): ${Object.entries(
      serverSide,
    )
      .map(([route, v]) => `${route} ${v.requests} req, p50 ${v.p50_ms} ms, p95 ${v.p95_ms} ms`)
      .join('; ')}`,
  );
  console.log(
    `backlog read: ${readCost.round_trip_us} µs round trip, Redis ${readCost.redis_xinfo_groups_us} µs (XINFO GROUPS) + ` +
      `${readCost.redis_zcard_us} µs (ZCARD); the api made ${apiBacklogReads} for ${createRequests} job requests ` +
      `(${cost.backlog_reads_per_job_request} per request; 1 without the cache).`,
  );
  console.log(
    `rate limiter, one Lua script per request (${cost.rate_limiter_scripts_per_request} per request in the flood): ` +
      `read check ${limiterCost.read_check.round_trip_us} µs round trip, Redis ${limiterCost.read_check.redis_us} µs; ` +
      `write check ${limiterCost.write_check.round_trip_us} µs, Redis ${limiterCost.write_check.redis_us} µs ` +
      `(measured before the flood; during it Redis spent ${cost.rate_limiter_script_us_during_flood} µs per script). ` +
      `api CPU ${cost.api_cpu_us_per_request} µs per request.`,
  );
  console.log(
    `\n${markdownTable(
      [
        ['goal', (g) => g.goal, 'left'],
        ['value', (g) => g.value],
        ['target', (g) => g.target],
        ['result', (g) => g.result, 'left'],
      ],
      goals,
    )}`,
  );

  // ---------------------------------------------------------------- plot
  const points = (key, scale = 1) =>
    perSecond.filter((r) => Number.isFinite(r[key]) && r[key] !== null).map((r) => [r.t, r[key] * scale]);
  const svg = svgChart({
    title: `Overload: ${factor}x capacity (${figures.capacity_jobs_per_s} jobs/s) for ${floodSeconds} s, then drain`,
    xLabel: 'seconds since the flood started',
    markers: [{ x: floodSeconds, label: 'flood stops' }],
    panels: [
      {
        title: 'Backlog (jobs accepted, not finished)',
        unit: 'jobs',
        series: [{ name: 'backlog', points: points('backlog') }],
        lines: [{ y: ceiling, label: `ceiling ${ceiling}` }],
      },
      {
        title: 'Job creations answered, and jobs finished, per second',
        unit: 'per second',
        series: [
          { name: '202 accepted', points: points('accepted'), color: '#2ca02c' },
          { name: '429 rate-limited', points: points('r429'), color: '#ff7f0e' },
          { name: '503 shed', points: points('r503'), color: '#d62728' },
          { name: '401', points: points('r401'), color: '#7f7f7f' },
          { name: 'worker jobs/s', points: points('worker_jobs'), color: '#1f77b4' },
        ],
      },
      {
        title: 'Latency p95 (answered requests)',
        unit: 'ms (log)',
        log: true,
        series: [
          { name: 'read p95', points: points('read_p95_ms'), color: '#9467bd' },
          { name: 'job creation p95', points: points('create_p95_ms'), color: '#8c564b' },
        ],
        lines: [
          { y: GOALS.readP95Ms, label: `read goal ${GOALS.readP95Ms} ms` },
          { y: GOALS.createP95Ms, label: `creation goal ${GOALS.createP95Ms} ms` },
        ],
      },
    ],
  });
  const svgFile = join(repoRoot, 'bench', 'results', `${opts.out}.svg`);
  Object.assign(report, {
    figures,
    goals,
    cost,
    per_second: perSecond,
    meta: {
      benchmark: 'overload',
      generated_at: new Date().toISOString(),
      machine: { ...machine(), loadavg_at_end: loadText() },
      label: opts.label || undefined,
      options: opts,
      limits,
      workers: `${workerCount} worker process(es), default config (WORKER_CONCURRENCY 2, default embedder)`,
      owners: `${ownerCount} owners (owner-0 sends ${greedyShare * 100} % of the traffic), ${badShare * 100} % of requests with wrong keys from 2 addresses`,
      statistic:
        'per second by the time a request was sent; latencies of answered requests; backlog = max of 100-ms samples (XINFO GROUPS pending + lag, + ZCARD delayed); worker jobs/s by finished_at; queue latency = started_at - created_at of accepted jobs; drain = last finished_at - end of the flood',
      plot: `bench/results/${opts.out}.svg`,
    },
  });
  const file = writeResults(opts.out, report);
  writeFileSync(svgFile, svg);
  console.log(`wrote ${file} and ${svgFile}`);
} finally {
  for (const agent of agents.values()) agent.destroy();
  await Promise.all([api?.stop(), ...workers.map((w) => w.stop())]);
  await admin.quit();
  await db.end();
  await sink.stop();
  await redisServer.stop();
  await postgres.stop();
  removeTempDir(photoDir);
}
