import { type BlobStore, markJobFailed } from '@media-cluster/db';
import { createConsumer, type JobMessage, queueNames, type RedisClient } from '@media-cluster/queue';
import { METRIC_PREFIX, SECONDS_BUCKETS } from '@media-cluster/semconv';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { WorkerConfig } from './config.js';
import { createWorkerMetrics } from './metrics.js';
import { createJobHandler } from './process-job.js';
import type { PhotoEmbedder } from './stages/embed.js';

export interface WorkerDeps {
  config: WorkerConfig;
  redis: RedisClient;
  db: pg.Pool;
  blobs: BlobStore;
  embedder: PhotoEmbedder;
  logger: Logger;
  /** Consumer name; unique per process. */
  consumerName?: string;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Wires the job handler to the queue consumer. Job status follows the queue:
 * running (handler start) → succeeded (result committed) | failed (an attempt
 * threw, a retry is scheduled) → dead_lettered (attempts exhausted).
 */
export function createWorker({ config, redis, db, blobs, embedder, logger, consumerName }: WorkerDeps) {
  const metrics = createWorkerMetrics(embedder.modelVersion);
  const handler = createJobHandler({
    db,
    blobs,
    embedder,
    metrics,
    logger,
    embedConcurrency: config.EMBED_CONCURRENCY,
    maxJobPhotos: config.MAX_JOB_PHOTOS,
    webhook: {
      allowedHosts: config.CALLBACK_ALLOWED_HOSTS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      publicApiUrl: config.PUBLIC_API_URL,
    },
  });
  const consumer = createConsumer({
    redis,
    names: queueNames(config.QUEUE_PREFIX, { shards: config.QUEUE_SHARDS }),
    metrics: { prefix: METRIC_PREFIX, secondsBuckets: SECONDS_BUCKETS },
    ...(consumerName ? { consumer: consumerName } : {}),
    handler,
    concurrency: config.WORKER_CONCURRENCY,
    claimIdleMs: config.CLAIM_IDLE_MS,
    maxAttempts: config.MAX_ATTEMPTS,
    backoff: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
    logger,
    hooks: {
      onRetry: async (job: JobMessage, error: unknown) => {
        await markJobFailed(db, job.jobId, message(error), { final: false });
      },
      onDeadLetter: async (job: JobMessage, error: unknown) => {
        await markJobFailed(db, job.jobId, message(error), { final: true });
        logger.error(
          { event: 'job_dead_lettered', job_id: job.jobId, attempt: job.attempt, err: error },
          'job dead-lettered',
        );
      },
    },
  });
  return consumer;
}
