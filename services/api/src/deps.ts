import type { BlobStore } from '@media-cluster/db';
import type pg from 'pg';
import type { ApiConfig } from './config.js';
import type { Logger } from './logger.js';
import type { ApiMetrics } from './metrics.js';
import type { Backpressure } from './overload/backpressure.js';
import type { RateLimiter } from './overload/rate-limiter.js';

/** What the api needs from the queue producer (packages/queue's `createProducer`). */
export interface JobProducer {
  /** Enqueues a job (the pet id is its partition key: one pet's jobs keep their order); resolves with the entry id. */
  send(message: { jobId: string; partitionKey?: string }): Promise<string>;
}

/** What `/ready` needs from Redis (an ioredis client fits). */
export interface RedisPinger {
  ping(): Promise<string>;
  /** ioredis connection state; anything but `ready` is not ready. */
  readonly status?: string;
}

export interface AppDeps {
  config: ApiConfig;
  db: pg.Pool;
  producer: JobProducer;
  blobs: BlobStore;
  logger: Logger;
  /** Pinged by `/ready`; without it `/ready` reports Redis as not configured (503). */
  redis?: RedisPinger;
  /** Created (and touched at 0) when not given. */
  metrics?: ApiMetrics;
  /** Per-owner write limits and the failed-authentication limit; without it nothing is rate-limited. */
  rateLimiter?: RateLimiter;
  /** Refuses job creation over JOB_BACKLOG_CEILING; without it the backlog is not checked. */
  backpressure?: Backpressure;
}
