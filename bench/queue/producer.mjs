// Adds BENCH_JOBS jobs with BENCH_INFLIGHT adds in flight, then reports when it started and ended.
// Traced: every add runs in a context of its own (tracing.mjs jobContext), as the api sends each
// job from its own request: one send span per job, for this queue and for BullMQ alike.
import { context } from '@opentelemetry/api';
import { env, report } from './common.mjs';

const tracing = env.traced
  ? await (await import('./tracing.mjs')).startTracing(`bench-${env.system}-producer`)
  : undefined;

let add;
let close;
if (env.system === 'queue') {
  const { connectRedis, createProducer, queueNames } = await import('@media-cluster/queue');
  const redis = connectRedis({
    url: env.redisUrl,
    clusterNodes: env.clusterNodes,
  });
  const producer = createProducer({
    redis,
    names: queueNames(env.name, { shards: env.shards }),
    replicas: env.replicas,
  });
  add = (i) => producer.send({ jobId: `job-${i}`, partitionKey: `pet-${i % 100}` });
  close = async () => {
    await producer.close();
    await redis.quit();
  };
} else {
  const { Queue } = await import('bullmq');
  const telemetry = env.traced ? new (await import('bullmq-otel')).BullMQOtel('bench') : undefined;
  const url = new URL(env.redisUrl);
  const queue = new Queue(env.name, {
    connection: { host: url.hostname, port: Number(url.port) },
    ...(telemetry ? { telemetry } : {}),
  });
  await queue.waitUntilReady();
  const opts = { removeOnComplete: true, removeOnFail: true };
  add = (i) => queue.add('job', { jobId: `job-${i}`, petId: `pet-${i % 100}` }, opts);
  close = () => queue.close();
}

let next = 0;
const send = tracing ? (i) => context.with(tracing.jobContext(), add, undefined, i) : add;
async function lane() {
  while (next < env.jobs) await send(next++);
}
const cpu0 = process.cpuUsage();
const start = Date.now();
await Promise.all(Array.from({ length: env.inflight }, lane));
const end = Date.now();
const cpu = process.cpuUsage(cpu0);
const spans = await tracing?.shutdown();
await close();
report({ start, end, spans, cpu_us_per_job: (cpu.user + cpu.system) / env.jobs });
