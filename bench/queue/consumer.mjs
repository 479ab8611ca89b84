// Handles jobs until BENCH_JOBS were started, recording enqueue -> handler-start latency,
// then closes (in-flight finish and are acked) and reports.
import { env, percentile, report } from './common.mjs';

const tracing = env.traced
  ? await (await import('./tracing.mjs')).startTracing(`bench-${env.system}-consumer`)
  : undefined;

const latencies = new Float64Array(env.jobs);
let handled = 0;
let first = 0;
let last = 0;
let finish;
let cpu0;
let cpu;
const finished = new Promise((resolve) => {
  finish = resolve;
});
function record(enqueuedAt) {
  const now = Date.now();
  if (handled === 0) {
    first = now;
    cpu0 = process.cpuUsage();
  }
  if (handled < env.jobs) latencies[handled] = now - enqueuedAt;
  handled++;
  if (handled === env.jobs) {
    last = now;
    cpu = process.cpuUsage(cpu0);
    finish();
  }
}

let close;
let pending = async () => 0;
if (env.system === 'queue') {
  const { connectRedis, createConsumer, queueNames } = await import('@media-cluster/queue');
  const redis = connectRedis({
    url: env.redisUrl,
    clusterNodes: env.clusterNodes,
  });
  const consumer = createConsumer({
    redis,
    names: queueNames(env.name, { shards: env.shards }),
    concurrency: env.concurrency,
    batchSize: env.concurrency,
    handler: async (job) => record(job.enqueuedAt),
  });
  await consumer.start();
  close = () => consumer.close();
  pending = async () => {
    const stats = await consumer.stats();
    await redis.quit();
    return stats.pending;
  };
} else {
  const { Worker } = await import('bullmq');
  const telemetry = env.traced ? new (await import('bullmq-otel')).BullMQOtel('bench') : undefined;
  const url = new URL(env.redisUrl);
  const worker = new Worker(env.name, async (job) => record(job.timestamp), {
    connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
    concurrency: env.concurrency,
    ...(telemetry ? { telemetry } : {}),
  });
  await worker.waitUntilReady();
  close = () => worker.close();
}

process.stdout.write('READY\n');
await finished;
await close();
const left = await pending();
const spans = await tracing?.shutdown();
const sorted = latencies.sort();
report({
  first,
  last,
  handled,
  pending: left,
  p50: percentile(sorted, 50),
  p99: percentile(sorted, 99),
  spans,
  cpu_us_per_job: (cpu.user + cpu.system) / env.jobs,
});
process.exit(0);
