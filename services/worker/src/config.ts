import { EMBEDDER_NAMES } from '@media-cluster/clustering';
import {
  envBool,
  envCallbackAllowList,
  envHost,
  envInt,
  envPort,
  envUrl,
  loadConfig,
} from '@media-cluster/config';
import { PHOTO_LIMITS } from '@media-cluster/photo';
import { queueEnv } from '@media-cluster/queue';
import { z } from 'zod';

const schema = z.object({
  /** REDIS_URL, REDIS_CLUSTER_NODES, QUEUE_SHARDS: the queue's own (shards by pet), same in api and worker. */
  ...queueEnv,
  DATABASE_URL: envUrl(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Metrics, /health and /ready; off the public port. */
  WORKER_METRICS_PORT: envPort().default(9465),
  /** Interface WORKER_METRICS_PORT listens on: loopback unless told otherwise (the image sets 0.0.0.0). */
  HOST: envHost().default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  /** Jobs processed at once by this process. */
  WORKER_CONCURRENCY: envInt(1, 256).default(2),
  /** A delivered entry idle this long is taken over from its (dead) consumer: 30 s. */
  CLAIM_IDLE_MS: envInt(1_000).default(30_000),
  MAX_ATTEMPTS: envInt(1, 100).default(5),
  /** Retry backoff: base 1 s, doubled per attempt, capped at 60 s. */
  RETRY_BASE_MS: envInt(1).default(1_000),
  RETRY_MAX_MS: envInt(1).default(60_000),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/i, { error: 'expected letters, digits, : _ -' })
    .default('media-cluster'),
  PHOTO_DIR: z.string().default('.data/photos'),
  /**
   * The api's callback allow-list, checked again at delivery, where every address a
   * listed name resolves to must be public or covered by an address/range entry.
   */
  CALLBACK_ALLOWED_HOSTS: envCallbackAllowList().default([]),
  /** Per webhook request: 5 s. */
  WEBHOOK_TIMEOUT_MS: envInt(100, 60_000).default(5_000),
  WEBHOOK_MAX_ATTEMPTS: envInt(1, 10).default(3),
  /** Base of `clustersUrl` in webhook bodies. */
  PUBLIC_API_URL: envUrl(['http:', 'https:']).default('http://localhost:8080'),
  /** Embedder name from @media-cluster/clustering ('default' picks the measured best). */
  EMBEDDER: z.enum(['default', ...EMBEDDER_NAMES]).default('default'),
  /** Photos read, decoded and embedded at once per job (across the thread pool). */
  EMBED_CONCURRENCY: envInt(1, 64).default(4),
  /**
   * Photos one job may have (the api's limit, checked again): a larger job fails
   * without retry. Memory per job grows with it (a vector per photo and an
   * n x n distance matrix: 8n² bytes, 2 MB at 500, 200 MB at 5,000).
   */
  MAX_JOB_PHOTOS: envInt(1, 5_000).default(500),
  /** Decoded size limit (width x height), checked from the header before decoding: 40 Mpx (PHOTO_LIMITS). */
  MAX_PIXELS: envInt(1).default(PHOTO_LIMITS.maxPixels),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Grace period for in-flight jobs on SIGTERM: 25 s (compose stops after 30 s). */
  SHUTDOWN_GRACE_MS: envInt(0).default(25_000),
  PROCESS_WEBHOOKS: envBool().default(true),
});

export type WorkerConfig = Readonly<z.output<typeof schema>>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return loadConfig(schema, env);
}
