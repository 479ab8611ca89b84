#!/usr/bin/env node
// `pnpm bench queue [--jobs 20000] [--inflight 50] [--runs 3] [--only queue,bullmq] [--exporter noop|otlp]
//                   [--concurrency 100] [--cpu-prof]`
// `pnpm bench queue --cluster [--shards 1,3] [--replicas 1] [--jobs …] [--runs …]`: this repo's queue only
//   (untraced), on a private Redis Cluster of 3 masters with a replica each, one row per shard count,
//   with `replicas` as the api sends (WAIT 1 on a cluster); writes bench/results/queue-cluster.json.
//
// End-to-end throughput of this repo's Redis Streams queue against BullMQ, untraced and traced,
// on one private redis-server: for each run a consumer process is started, then a producer
// process adds the jobs with N adds in flight while the consumer drains them.
//   jobs/s  = jobs / (last handler start − producer start)
//   latency = handler start − enqueue time (the producer's Date.now() when it added the job)
// Rows are medians of the runs (modes interleaved, so machine noise hits every mode alike); a
// ratio between modes is the median of the per-run ratios, printed with the runs.
// Every mode runs with the same settings: `--concurrency` handlers in flight (this queue also
// reads that many entries per XREADGROUP; BullMQ has no batch read), `--inflight` adds in flight.
// Traced rows register an SDK tracer provider with a BatchSpanProcessor (SDK defaults) in
// both processes, and the producer sends every job from a context of its own, as the api does
// (one request, one job): one send span per job. `--exporter noop` (default) hands batches to an
// exporter that drops them, `--exporter otlp` exports over OTLP/gRPC to testkit's OTLP receiver.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values: opts } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'queue,queue-traced,bullmq,bullmq-otel' },
    exporter: { type: 'string', default: 'noop' },
    concurrency: { type: 'string', default: '100' },
    'cpu-prof': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    shards: { type: 'string', default: '1,3' },
    replicas: { type: 'string', default: '1' },
  },
});
const MODES = {
  queue: { system: 'queue', traced: false },
  'queue-traced': { system: 'queue', traced: true },
  bullmq: { system: 'bullmq', traced: false },
  'bullmq-otel': { system: 'bullmq', traced: true },
};
if (opts.cluster) {
  for (const n of opts.shards.split(',').map(Number)) {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--shards takes shard counts, e.g. 1,3 (got ${opts.shards})`);
    MODES[`cluster-${n}-shard${n === 1 ? '' : 's'}`] = { system: 'queue', traced: false, shards: n };
  }
}
const modes = opts.cluster
  ? Object.keys(MODES).filter((m) => MODES[m].shards)
  : opts.only.split(',').map((m) => m.trim());
for (const m of modes)
  if (!MODES[m]) throw new Error(`unknown mode ${m}; known: ${Object.keys(MODES).join(', ')}`);
if (!['noop', 'otlp'].includes(opts.exporter)) throw new Error('--exporter is noop or otlp');
const jobs = Number(opts.jobs);
const runs = Number(opts.runs);

// The processes import the packages' dist/ (like production): build them first (turbo caches).
if (!opts['skip-build']) {
  const build = spawnSync(
    'pnpm',
    ['turbo', 'run', 'build', '--filter=@media-cluster/bench^...', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const { startOtlpReceiver, startRedis, startRedisCluster } = await import('@media-cluster/testkit');
const { Redis, Cluster } = await import('ioredis');

function startRole(role, env) {
  const args = [];
  if (opts['cpu-prof']) args.push('--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`);
  const child = spawn(process.execPath, [...args, join(here, 'queue', `${role}.mjs`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolve) => lines.on('line', (l) => l === 'READY' && resolve()));
  const result = new Promise((resolve, reject) => {
    lines.on('line', (l) => l.startsWith('RESULT ') && resolve(JSON.parse(l.slice(7))));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code} before reporting`)));
  });
  return { child, ready, result };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const clusterStarted = Date.now();
const redisServer = opts.cluster ? await startRedisCluster() : await startRedis({ appendOnly: false });
const clusterStartMs = opts.cluster ? Date.now() - clusterStarted : undefined;
if (opts.cluster) console.log(`cluster of 6 nodes up in ${clusterStartMs} ms`);
const receiver = opts.exporter === 'otlp' ? await startOtlpReceiver() : undefined;
const clusterNodes = opts.cluster ? redisServer.nodesEnv : '';
const admin = opts.cluster
  ? new Cluster(clusterNodes.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })))
  : new Redis(redisServer.url);
// FLUSHALL runs per node: on a cluster, on every master.
const flush = () =>
  opts.cluster ? Promise.all(admin.nodes('master').map((node) => node.flushall())) : admin.flushall();
const perMode = Object.fromEntries(modes.map((m) => [m, []]));
try {
  for (let run = 1; run <= runs; run++) {
    for (const mode of modes) {
      const { system, traced, shards } = MODES[mode];
      await flush();
      receiver?.reset();
      const env = {
        BENCH_SYSTEM: system,
        BENCH_TRACED: traced ? '1' : '0',
        BENCH_EXPORTER: opts.exporter,
        BENCH_OTLP_URL: receiver?.grpcEndpoint ?? '',
        BENCH_REDIS_URL: redisServer.url ?? '',
        BENCH_CLUSTER_NODES: clusterNodes,
        BENCH_SHARDS: String(shards ?? 1),
        BENCH_REPLICAS: opts.cluster ? opts.replicas : '0',
        BENCH_QUEUE: `bench-${mode}-${run}`,
        BENCH_JOBS: String(jobs),
        BENCH_INFLIGHT: opts.inflight,
        BENCH_CONCURRENCY: opts.concurrency,
      };
      const consumer = startRole('consumer', env);
      await consumer.ready;
      const producer = startRole('producer', env);
      const [p, c] = await Promise.all([producer.result, consumer.result]);
      const seconds = (c.last - p.start) / 1000;
      const row = {
        jobs_per_s: Math.round(jobs / seconds),
        p50_ms: c.p50,
        p99_ms: c.p99,
        produce_s: (p.end - p.start) / 1000,
        cpu_us_per_job: { producer: Math.round(p.cpu_us_per_job), consumer: Math.round(c.cpu_us_per_job) },
        pending_after: c.pending,
        spans: traced
          ? { producer: p.spans, consumer: c.spans, received: receiver?.spans.length }
          : undefined,
        spans_per_job: traced ? (p.spans.ended + c.spans.ended) / jobs : undefined,
      };
      perMode[mode].push(row);
      console.log(`run ${run} ${mode.padEnd(13)} ${JSON.stringify(row)}`);
      if (c.handled !== jobs || c.pending !== 0)
        throw new Error(`${mode}: handled ${c.handled}, pending ${c.pending}`);
    }
  }
} finally {
  await admin.quit();
  await receiver?.stop();
  await redisServer.stop();
}

const rows = modes.map((name) => ({
  name,
  jobs_per_s: median(perMode[name].map((r) => r.jobs_per_s)),
  p50_ms: median(perMode[name].map((r) => r.p50_ms)),
  p99_ms: median(perMode[name].map((r) => r.p99_ms)),
  spans_per_job: MODES[name].traced ? median(perMode[name].map((r) => r.spans_per_job)) : undefined,
}));
/** The median of the per-run ratios a/b (each run has every mode, back to back), with the runs. */
function ratio(a, b) {
  if (!perMode[a] || !perMode[b]) return undefined;
  const perRun = perMode[a].map((r, i) => r.jobs_per_s / perMode[b][i].jobs_per_s);
  return { ratio: median(perRun), perRun };
}
const goal = (value, min) => (value >= min ? 'met' : 'not met');

console.log(
  `\n${jobs} jobs, ${opts.inflight} adds in flight, concurrency ${opts.concurrency} in every mode, median of ${runs} runs, exporter ${opts.exporter}`,
);
// CPU per job (producer + consumer) moves much less than jobs/s when the machine is shared.
const cpu = Object.fromEntries(
  modes.map((m) => [
    m,
    {
      producer: median(perMode[m].map((r) => r.cpu_us_per_job.producer)),
      consumer: median(perMode[m].map((r) => r.cpu_us_per_job.consumer)),
    },
  ]),
);
console.log('| name | jobs/s | p50 ms | p99 ms | CPU µs/job producer + consumer | spans/job |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.jobs_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${cpu[r.name].producer} + ${cpu[r.name].consumer} | ${r.spans_per_job === undefined ? '–' : r.spans_per_job.toFixed(2)} |`,
  );
}
const GOALS = [
  ['queue-traced', 'queue', 0.75],
  ['queue-traced', 'bullmq-otel', 3],
];
const ratios = [];
for (const [a, b, min] of GOALS) {
  const r = ratio(a, b);
  if (!r) continue;
  ratios.push({
    of: a,
    over: b,
    ratio: +r.ratio.toFixed(3),
    per_run: r.perRun.map((x) => +x.toFixed(3)),
    goal: min,
    result: goal(r.ratio, min),
  });
  console.log(
    `${a} / ${b} = ${r.ratio.toFixed(2)}x (median of per-run ${r.perRun.map((x) => x.toFixed(2)).join(' ')}); goal >= ${min}x: ${goal(r.ratio, min)}`,
  );
}
const sharded = opts.cluster && modes.length > 1 ? ratio(modes.at(-1), modes[0]) : undefined;
if (sharded) {
  ratios.push({
    of: modes.at(-1),
    over: modes[0],
    ratio: +sharded.ratio.toFixed(3),
    per_run: sharded.perRun.map((x) => +x.toFixed(3)),
  });
  console.log(
    `${modes.at(-1)} / ${modes[0]} = ${sharded.ratio.toFixed(2)}x (median of per-run ${sharded.perRun.map((x) => x.toFixed(2)).join(' ')})`,
  );
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', opts.cluster ? 'queue-cluster.json' : 'queue.json'),
  `${JSON.stringify(
    {
      rows,
      ratios,
      meta: {
        jobs,
        adds_in_flight: Number(opts.inflight),
        runs,
        statistic: 'rows: median of the runs; ratios: median of the per-run ratios',
        parents: 'traced producers send every job from a context of its own (one send span per job)',
        jobs_per_s: 'jobs / (last handler start - producer start)',
        latency: 'handler start - enqueue (producer Date.now() at add), ms',
        exporter: opts.exporter,
        concurrency: Number(opts.concurrency),
        queue_batch_size: Number(opts.concurrency),
        cluster: opts.cluster
          ? {
              nodes: '3 masters + 3 replicas, one machine',
              replicas_waited: Number(opts.replicas),
              start_ms: clusterStartMs,
              consumers: 1,
              producers: 1,
            }
          : undefined,
        load_average: (await import('node:os')).loadavg(),
        cpu_us_per_job: cpu,
        node: process.version,
        date: new Date().toISOString(),
        per_run: perMode,
      },
    },
    null,
    2,
  )}\n`,
);
