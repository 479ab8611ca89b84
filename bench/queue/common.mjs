// Shared by the producer and consumer processes of `pnpm bench queue`.
export const env = {
  system: process.env.BENCH_SYSTEM, // 'queue' | 'bullmq'
  traced: process.env.BENCH_TRACED === '1',
  redisUrl: process.env.BENCH_REDIS_URL,
  /** `host:port,...` of a Redis Cluster (then `redisUrl` is unused). */
  clusterNodes: (process.env.BENCH_CLUSTER_NODES ?? '').split(',').filter(Boolean),
  shards: Number(process.env.BENCH_SHARDS ?? 1),
  /** Replicas the producer waits for (WAIT), as the api does on a cluster. */
  replicas: Number(process.env.BENCH_REPLICAS ?? 0),
  name: process.env.BENCH_QUEUE,
  jobs: Number(process.env.BENCH_JOBS),
  inflight: Number(process.env.BENCH_INFLIGHT),
  concurrency: Number(process.env.BENCH_CONCURRENCY),
};

export function report(obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}

/** Percentile of an ascending Float64Array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
