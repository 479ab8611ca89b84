#!/usr/bin/env node
// `pnpm bench api [--rounds 3] [--duration 10] [--warmup 5] [--connections 50]
//                  [--routes create-job,get-job,get-job-304] [--cpu-prof] [--pin] [--skip-build]
//                  [--on-env KEY=VALUE,KEY=VALUE] [--variant name:KEY=VALUE,KEY=VALUE ...]
//                  [--rate req/s] [--node20 /usr/bin/node] [--label text] [--out api]`
//
// The REAL api process (services/api/dist, started with `node --import @media-cluster/telemetry/register`
// as in production) on a private redis-server and PostgreSQL from testkit, loaded by autocannon
// (50 connections, this process) route by route. Two api processes run side by side and take turns:
//   off: OTEL_SDK_DISABLED=true (register loads nothing)
//   on:  full telemetry (traces, metrics, logs) over OTLP/gRPC to testkit's OTLP receiver, which runs
//        in a THIRD process (bench/lib/otlp-sink.mjs): its CPU is reported per run, not hidden in the
//        api's or the load generator's numbers.
// No worker runs: every POST inserts a queued job and XADDs it, and nothing consumes them. Before
// every timed run the jobs table is truncated and the stream deleted, so each run starts equal.
// Warm-up (untimed) per api and route, then `rounds` rounds; each round runs every route off/on,
// the order alternating per round. Rows are medians over rounds. `--pin`: api on CPU 0, everything
// else on CPU 1 (taskset); `--cpu-prof`: V8 CPU profiles of the apis in --prof-dir/api-<mode>
// (summarise with `node bench/lib/profile-summary.mjs <file>`).
// `--rate`: a fixed offered load instead of saturation (autocannon overallRate): then
// "api CPU µs/req" compares modes at equal throughput, which is what the experiments read.
// `--on-env` adds variables to the "on" api only; each `--variant` adds one more api with full telemetry
// plus its variables, taking its turn like the others (experiments: per-instrumentation on/off with
// OTEL_NODE_DISABLED_INSTRUMENTATIONS, exporters `none`, samplers...). Variants are rows too.
// `--node20 PATH`: two more apis, `off-node20` and `on-node20`, the same build run by that Node binary
// (every other api runs on this process's Node, the pinned one), taking turns with the others, so
// Node 20 and Node 24 with full telemetry are measured back to back in one session.
// Every ratio is the median of the per-round ratios (a round runs each mode once, back to back),
// printed with the rounds; each goal says "met" or "not met":
//   on/off req/s >= 0.85x;  at a fixed --rate, telemetry adds <= 150 µs of api CPU per request on
//   create-job and get-job (on - off, per round);  at saturation, on / on-node20 req/s >= 2x.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { clusterPhotoFiles } from './lib/photos.mjs';
import { buildServices, parseEnv, startOtlpSink, startService } from './lib/services.mjs';
import {
  goalText,
  loadText,
  machine,
  markdownTable,
  median,
  pairedRatio,
  round,
  writeResults,
} from './lib/stats.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '0' },
    routes: { type: 'string', default: 'create-job,get-job,get-job-304' },
    'cpu-prof': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'on-env': { type: 'string', default: '' },
    variant: { type: 'string', multiple: true, default: [] },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: 'api' },
    'prof-dir': { type: 'string', default: '/tmp/media-cluster-bench-profiles' },
    node20: { type: 'string', default: '' },
  },
});
const rounds = Number(opts.rounds);
const duration = Number(opts.duration);
const warmup = Number(opts.warmup);
const connections = Number(opts.connections);
const onEnv = parseEnv(opts['on-env']);
/**
 * Every api process of the run: `off`, `on`, the variants (all with telemetry), then with --node20
 * `off-node20` and `on-node20`. `base` is the mode an on/off ratio divides by (same Node binary).
 */
const MODES = [
  { key: 'off', telemetry: false, env: {} },
  { key: 'on', telemetry: true, env: onEnv, base: 'off' },
  ...opts.variant.map((v) => {
    const at = v.indexOf(':');
    return {
      key: at === -1 ? v : v.slice(0, at),
      telemetry: true,
      env: { ...onEnv, ...parseEnv(v.slice(at + 1)) },
      base: 'off',
    };
  }),
  ...(opts.node20
    ? [
        { key: 'off-node20', telemetry: false, env: {}, node: opts.node20 },
        { key: 'on-node20', telemetry: true, env: onEnv, node: opts.node20, base: 'off-node20' },
      ]
    : []),
];
const ADDED_CPU_GOAL_US = 150;
const ADDED_CPU_ROUTES = new Set(['create-job', 'get-job']);
const NODE24_OVER_NODE20_GOAL = 2;
const ON_OFF_GOAL = 0.85;
const fixedRate = Number(opts.rate) > 0;
const API_CPUS = opts.pin ? '0' : undefined;
const OTHER_CPUS = opts.pin ? '1' : undefined;
if (OTHER_CPUS) {
  // This process is the load generator: keep it (and what it starts) off the api's CPU.
  const { spawnSync } = await import('node:child_process');
  spawnSync('taskset', ['-p', '-c', OTHER_CPUS, String(process.pid)], { stdio: 'ignore' });
}

if (!opts['skip-build']) buildServices();
const { startPostgres, startRedis, freePort, makeTempDir, removeTempDir } = await import(
  '@media-cluster/testkit'
);
const { Redis } = await import('ioredis');
const { default: pg } = await import('pg');

const KEY = 'bench-api-key-0123456789';
const PET = 'bench-pet-1';
const PREFIX = 'bench-api';

const ROUTES = {
  'create-job': {
    route: 'POST /v1/pets/{petId}/clustering-jobs',
    status: '2xx',
    request: () => {
      let n = 0;
      const run = randomUUID().slice(0, 8);
      return {
        method: 'POST',
        path: `/v1/pets/${PET}/clustering-jobs`,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{}',
        // A new Idempotency-Key per request: every POST creates (inserts + enqueues) a job.
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `${run}-${n++}` } }),
      };
    },
  },
  'get-job': {
    route: 'GET /v1/jobs/{jobId}',
    status: '2xx',
    request: (job) => ({
      method: 'GET',
      path: `/v1/jobs/${job.id}`,
      headers: { authorization: `Bearer ${KEY}` },
    }),
  },
  'get-job-304': {
    route: 'GET /v1/jobs/{jobId} (If-None-Match)',
    status: '3xx',
    request: (job) => ({
      method: 'GET',
      path: `/v1/jobs/${job.id}`,
      headers: { authorization: `Bearer ${KEY}`, 'if-none-match': job.etag },
    }),
  },
};
const routeNames = opts.routes.split(',').map((r) => r.trim());
for (const r of routeNames)
  if (!ROUTES[r]) throw new Error(`unknown route ${r}; known: ${Object.keys(ROUTES)}`);

const redisServer = await startRedis({ appendOnly: false });
const postgres = await startPostgres();
const sink = await startOtlpSink({ cpus: OTHER_CPUS });
const photoDir = makeTempDir('bench-api-photos');
const admin = new Redis(redisServer.url);
const db = new pg.Pool({ connectionString: postgres.url, max: 2 });
const apis = {};
const perRun = [];

const shared = {
  REDIS_URL: redisServer.url,
  DATABASE_URL: postgres.url,
  API_KEYS: `${KEY}:bench-owner`,
  QUEUE_PREFIX: PREFIX,
  PHOTO_DIR: photoDir,
  LOG_LEVEL: 'info',
  // The overload guards off: one owner POSTs thousands of jobs a second here and nothing consumes
  // them. This bench measures telemetry's cost; `pnpm bench overload` measures the guards'.
  RATE_LIMIT_JOBS: 'off',
  RATE_LIMIT_UPLOADS: 'off',
  JOB_BACKLOG_CEILING: '0',
};

async function startApi(mode) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const env = {
    ...shared,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    ...(mode.telemetry ? { ...sink.exporterEnv(), OTEL_SERVICE_NAME: 'media-cluster-api', ...mode.env } : {}),
    OTEL_SDK_DISABLED: mode.telemetry ? 'false' : 'true',
  };
  const nodeArgs = opts['cpu-prof']
    ? // One directory per mode: the loader-hook thread writes a profile of its own too.
      ['--cpu-prof', `--cpu-prof-dir=${join(opts['prof-dir'], `api-${mode.key}`)}`]
    : [];
  const api = await startService({
    name: 'api',
    env,
    readyUrl: `http://127.0.0.1:${metricsPort}/ready`,
    nodeArgs,
    cpus: API_CPUS,
    node: mode.node,
  });
  return { ...api, url: `http://127.0.0.1:${port}` };
}

async function uploadPhotos(api) {
  const form = new FormData();
  for (const f of clusterPhotoFiles().slice(0, 10)) form.append('photos', new Blob([f.bytes]), f.name);
  const res = await fetch(`${api.url}/v1/pets/${PET}/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`photo upload: ${res.status} ${await res.text()}`);
}

/** Empty jobs table and stream, then one job for the GET routes (created through the api). */
async function resetState(api) {
  await db.query('TRUNCATE jobs CASCADE');
  await admin.del(`${PREFIX}:jobs`);
  const created = await fetch(`${api.url}/v1/pets/${PET}/clustering-jobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: '{}',
  });
  if (created.status !== 202) throw new Error(`create job: ${created.status} ${await created.text()}`);
  const { jobId } = await created.json();
  const got = await fetch(`${api.url}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${KEY}` } });
  if (got.status !== 200) throw new Error(`get job: ${got.status}`);
  await got.arrayBuffer();
  return { id: jobId, etag: got.headers.get('etag') };
}

async function load(api, routeName, seconds) {
  const job = await resetState(api);
  const spec = ROUTES[routeName];
  await sink.stats(); // forget what arrived before this run
  const cpuBefore = api.cpuMs();
  const result = await autocannon({
    url: api.url,
    connections,
    duration: seconds,
    ...(Number(opts.rate) > 0 ? { overallRate: Number(opts.rate) } : {}),
    requests: [spec.request(job)],
  });
  // Spans, logs and metrics recorded in the last second leave with the next batch export (1 s):
  // wait for it, so their export cost is counted in this run's api CPU and not in the next one.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const cpuMs = api.cpuMs() - cpuBefore;
  const sinkStats = await sink.stats();
  const total = result.requests.total;
  const expected = result[spec.status] ?? 0;
  return {
    req_per_s: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    requests: total,
    unexpected_status: total - expected,
    errors: result.errors + result.timeouts,
    api_cpu_us_per_req: total > 0 ? (cpuMs * 1000) / total : Number.NaN,
    api_cpu_util: cpuMs / (seconds * 1000),
    sink: sinkStats,
  };
}

const SETTLE_MS = 1_500;
try {
  for (const mode of MODES) apis[mode.key] = await startApi(mode);
  await uploadPhotos(apis.off);
  console.error(
    `api bench: ${connections} connections, ${rounds} rounds x ${duration} s, load ${loadText()}`,
  );
  for (const routeName of routeNames) {
    for (const mode of MODES) {
      const w = await load(apis[mode.key], routeName, warmup);
      console.error(`warm-up ${routeName} ${mode.key}: ${Math.round(w.req_per_s)} req/s`);
    }
  }
  for (let r = 1; r <= rounds; r++) {
    for (const routeName of routeNames) {
      // Alternate the order per round (off first, then on first, ...), so drift hits both alike.
      const order = r % 2 === 1 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const loadBefore = loadText();
        const m = await load(apis[mode.key], routeName, duration);
        perRun.push({
          round: r,
          route: routeName,
          mode: mode.key,
          telemetry: mode.telemetry,
          load_before: loadBefore,
          ...m,
        });
        console.error(
          `round ${r} ${routeName.padEnd(12)} ${mode.key.padEnd(3)} ${Math.round(m.req_per_s)} req/s` +
            ` p50 ${m.p50_ms} p99 ${m.p99_ms} ms, api ${Math.round(m.api_cpu_us_per_req)} us CPU/req` +
            ` (${Math.round(m.api_cpu_util * 100)}% of a core), sink ${m.sink.cpu_ms} ms CPU` +
            ` ${m.sink.spans} spans ${m.sink.logs} logs, load ${loadText()}` +
            (m.unexpected_status || m.errors
              ? `, UNEXPECTED ${m.unexpected_status} status ${m.errors} errors`
              : ''),
        );
      }
    }
  }
} finally {
  await Promise.all(Object.values(apis).map((a) => a.stop()));
  await admin.quit();
  await db.end();
  await sink.stop();
  await redisServer.stop();
  await postgres.stop();
  removeTempDir(photoDir);
}

const rows = [];
for (const routeName of routeNames) {
  for (const mode of MODES) {
    const runs = perRun.filter((x) => x.route === routeName && x.mode === mode.key);
    const m = (key) => median(runs.map((x) => x[key]));
    rows.push({
      name: `${routeName} telemetry ${mode.key}`,
      route: ROUTES[routeName].route,
      telemetry: mode.telemetry,
      ...(mode.key === 'off' || mode.key === 'on' ? {} : { variant: mode.key, variant_env: mode.env }),
      req_per_s: round(m('req_per_s')),
      p50_ms: round(m('p50_ms'), 1),
      p99_ms: round(m('p99_ms'), 1),
      api_cpu_us_per_req: round(m('api_cpu_us_per_req')),
      sink_cpu_ms_per_run: round(median(runs.map((x) => x.sink.cpu_ms))),
      bad_responses: runs.reduce((n, x) => n + x.unexpected_status + x.errors, 0),
    });
  }
}
const roundNumbers = [...new Set(perRun.map((x) => x.round))];
const pick = (r, routeName, key) =>
  perRun.find((x) => x.round === r && x.route === routeName && x.mode === key);
/** One row per telemetry mode and route: ratios against its base, each the median of the per-round ones. */
const ratios = routeNames.flatMap((routeName) =>
  MODES.filter((mode) => mode.base).map((mode) => {
    const reqs = pairedRatio(
      roundNumbers.map((r) => [
        pick(r, routeName, mode.key).req_per_s,
        pick(r, routeName, mode.base).req_per_s,
      ]),
    );
    const addedPerRound = roundNumbers.map(
      (r) =>
        pick(r, routeName, mode.key).api_cpu_us_per_req - pick(r, routeName, mode.base).api_cpu_us_per_req,
    );
    const added = median(addedPerRound);
    const addedGoal =
      mode.key === 'on' && ADDED_CPU_ROUTES.has(routeName)
        ? fixedRate
          ? goalText(added, ADDED_CPU_GOAL_US, { atLeast: false })
          : 'needs --rate'
        : '';
    return {
      route: ROUTES[routeName].route,
      telemetry: mode.key,
      ratio: reqs.ratio,
      ratio_per_round: reqs.perRound.map((x) => round(x, 3)),
      on_off_goal:
        mode.key !== 'on'
          ? ''
          : fixedRate
            ? 'needs saturation (no --rate)'
            : goalText(reqs.ratio, ON_OFF_GOAL),
      added_cpu_us_per_req: added,
      added_cpu_us_per_round: addedPerRound.map((x) => round(x)),
      added_cpu_goal: addedGoal,
    };
  }),
);
/** Node 24 (this process's Node) over --node20, full telemetry on both, per route. */
const nodeRatios = opts.node20
  ? routeNames.map((routeName) => {
      const reqs = pairedRatio(
        roundNumbers.map((r) => [
          pick(r, routeName, 'on').req_per_s,
          pick(r, routeName, 'on-node20').req_per_s,
        ]),
      );
      const off = pairedRatio(
        roundNumbers.map((r) => [
          pick(r, routeName, 'off').req_per_s,
          pick(r, routeName, 'off-node20').req_per_s,
        ]),
      );
      return {
        route: ROUTES[routeName].route,
        ratio: reqs.ratio,
        ratio_per_round: reqs.perRound.map((x) => round(x, 3)),
        off_ratio: off.ratio,
        off_ratio_per_round: off.perRound.map((x) => round(x, 3)),
        goal: fixedRate ? 'needs saturation (no --rate)' : goalText(reqs.ratio, NODE24_OVER_NODE20_GOAL),
      };
    })
  : [];

const loadAfter = loadText();
console.log(
  `\napi: ${connections} connections, median of ${rounds} rounds x ${duration} s per route and mode; load average ${loadAfter}` +
    (opts.label ? `; ${opts.label}` : ''),
);
console.log(
  markdownTable(
    [
      ['route', (r) => r.route, 'left'],
      ['telemetry', (r) => r.name.slice(r.name.lastIndexOf(' ') + 1), 'left'],
      ['req/s', (r) => r.req_per_s],
      ['p50 ms', (r) => r.p50_ms],
      ['p99 ms', (r) => r.p99_ms],
      ['api CPU µs/req', (r) => r.api_cpu_us_per_req],
    ],
    rows,
  ),
);
console.log('');
console.log(
  markdownTable(
    [
      ['route', (r) => r.route, 'left'],
      ['telemetry', (r) => r.telemetry, 'left'],
      ['on/off req/s', (r) => `${r.ratio.toFixed(2)}x`],
      ['per round', (r) => r.ratio_per_round.map((x) => x.toFixed(2)).join(' ')],
      [`goal >= ${ON_OFF_GOAL}x`, (r) => r.on_off_goal],
      ['added api CPU µs/req', (r) => round(r.added_cpu_us_per_req)],
      ['per round', (r) => r.added_cpu_us_per_round.join(' ')],
      [`goal <= ${ADDED_CPU_GOAL_US} µs`, (r) => r.added_cpu_goal],
    ],
    ratios,
  ),
);
if (nodeRatios.length > 0) {
  console.log(
    `\nNode ${process.versions.node} / ${opts.node20} (${apis['on-node20']?.nodeVersion ?? '?'}), same build:`,
  );
  console.log(
    markdownTable(
      [
        ['route', (r) => r.route, 'left'],
        ['telemetry on req/s', (r) => `${r.ratio.toFixed(2)}x`],
        ['per round', (r) => r.ratio_per_round.map((x) => x.toFixed(2)).join(' ')],
        [`goal >= ${NODE24_OVER_NODE20_GOAL}x`, (r) => r.goal],
        ['telemetry off req/s', (r) => `${r.off_ratio.toFixed(2)}x`],
        ['per round', (r) => r.off_ratio_per_round.map((x) => x.toFixed(2)).join(' ')],
      ],
      nodeRatios,
    ),
  );
}
const file = writeResults(opts.out, {
  rows,
  ratios: ratios.map((r) => ({
    ...r,
    ratio: round(r.ratio, 3),
    added_cpu_us_per_req: round(r.added_cpu_us_per_req),
  })),
  node_ratios: nodeRatios.map((r) => ({ ...r, ratio: round(r.ratio, 3), off_ratio: round(r.off_ratio, 3) })),
  meta: {
    benchmark: 'api',
    generated_at: new Date().toISOString(),
    machine: { ...machine(), loadavg_at_end: loadAfter },
    label: opts.label || undefined,
    connections,
    offered_rate: Number(opts.rate) > 0 ? Number(opts.rate) : 'saturation',
    rounds,
    duration_s: duration,
    warmup_s: warmup,
    pinned: opts.pin,
    on_env: onEnv,
    variants: MODES.filter((m) => m.key !== 'off' && m.key !== 'on'),
    worker: 'none (POSTed jobs stay queued; jobs table truncated and stream deleted before every run)',
    otlp_receiver: 'testkit startOtlpReceiver in its own process (bench/lib/otlp-sink.mjs), OTLP/gRPC',
    statistic:
      'rows: median over rounds; ratios: median of the per-round ratios (added CPU: of the per-round differences); req_per_s = autocannon requests.average; latency percentiles from autocannon',
    node: {
      default: process.version,
      node20: opts.node20 ? { path: opts.node20, version: apis['on-node20']?.nodeVersion } : undefined,
    },
    per_run: perRun,
  },
});
console.log(`wrote ${file}`);
