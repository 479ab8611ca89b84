import { hostname } from 'node:os';
import { createEmbedderPool } from '@media-cluster/clustering';
import { createFsBlobStore, createPool, migrate, migrationsApplied } from '@media-cluster/db';
import { connectRedis } from '@media-cluster/queue';
import { createLogger, shutdownTelemetry, startMetricsServer } from '@media-cluster/telemetry';
import { loadWorkerConfig } from './config.js';
import { createWorker } from './create-worker.js';

/** Each /ready dependency check gets this long (the metrics server gives the whole check 2 s). */
const READY_CHECK_MS = 1_500;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts the worker process; resolves once it is consuming. SIGTERM/SIGINT drain and exit. */
export async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
  const redis = connectRedis(
    { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
    { maxRetriesPerRequest: null, enableAutoPipelining: false },
  );
  redis.on('error', (err) => logger.warn({ event: 'redis_error', err: err.message }, 'redis error'));
  const db = createPool(config.DATABASE_URL, {
    max: config.WORKER_CONCURRENCY + 2,
    onIdleError: (err) => logger.warn({ event: 'postgres_error', err: err.message }, 'postgres error'),
  });
  // Safe next to the api doing the same: the runner holds an advisory lock.
  await migrate(db, { logger });
  const blobs = createFsBlobStore({ dir: config.PHOTO_DIR });
  const embedder = createEmbedderPool({
    embedder: config.EMBEDDER as 'default',
    maxPixels: config.MAX_PIXELS,
  });
  const consumerName = `${hostname()}-${process.pid}`;
  const worker = createWorker({ config, redis, db, blobs, embedder, logger, consumerName });

  // Ready means consuming: /ready answers 503 until the consumer group exists and the readers run.
  let consuming = false;
  const ready = async () => {
    const checks: Record<string, string> = { consumer: consuming ? 'ok' : 'starting' };
    await Promise.all([
      // Commands wait in ioredis' offline queue while it reconnects (maxRetriesPerRequest: null),
      // so a lost connection is reported from its state, and each check is bounded on its own:
      // the answer names the dependency that failed instead of timing out as a whole.
      (redis.status === 'ready'
        ? within(redis.ping(), READY_CHECK_MS)
        : Promise.reject(new Error(`not connected (${redis.status})`))
      ).then(
        () => (checks.redis = 'ok'),
        (e: Error) => (checks.redis = e.message),
      ),
      within(migrationsApplied(db), READY_CHECK_MS).then(
        (ok) => (checks.postgres = ok ? 'ok' : 'migrations not applied'),
        (e: Error) => (checks.postgres = e.message),
      ),
    ]);
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  };
  const metricsServer = await startMetricsServer({
    port: config.WORKER_METRICS_PORT,
    host: config.HOST,
    ...(config.METRICS_TOKEN ? { token: config.METRICS_TOKEN } : {}),
    health: async () => ({ ok: true, checks: { process: 'ok' } }),
    ready,
  });

  await worker.start();
  consuming = true;
  logger.info(
    {
      event: 'worker_started',
      consumer: consumerName,
      metrics_port: metricsServer.port,
      model_version: embedder.modelVersion,
    },
    'worker consuming',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      logger.info({ event: 'worker_stopping', signal }, 'stopping: finishing in-flight jobs');
      const grace = setTimeout(() => {
        logger.error({ event: 'shutdown_timeout' }, 'grace period over, exiting');
        process.exit(1);
      }, config.SHUTDOWN_GRACE_MS);
      grace.unref();
      // Each step runs even if an earlier one failed.
      for (const step of [
        () => worker.close(),
        () => embedder.close(),
        () => metricsServer.close(),
        () => redis.quit().then(() => undefined),
        () => db.end(),
        () => shutdownTelemetry(),
      ]) {
        await step().catch((err: unknown) => logger.warn({ err }, 'shutdown step failed'));
      }
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
