import { Writable } from 'node:stream';
import { type BlobStore, createFsBlobStore, migrate } from '@media-cluster/db';
import {
  createProducer,
  type Producer,
  type QueueNames,
  type QueueShard,
  queueNames,
} from '@media-cluster/queue';
import { createTestSchema, makeTempDir, removeTempDir, uniqueName } from '@media-cluster/testkit';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { type AppDeps, createApp, type RedisPinger } from '../src/app.js';
import { type ApiConfig, loadApiConfig } from '../src/config.js';
import { createPinoLogger, type Logger } from '../src/logger.js';
import { createBackpressure } from '../src/overload/backpressure.js';
import { createRateLimiter, rateLimitsFromConfig } from '../src/overload/rate-limiter.js';

export const ALICE_KEY = 'alice-secret-key-0001';
export const BOB_KEY = 'bob-secret-key-0002';
export const alice = { authorization: `Bearer ${ALICE_KEY}` };
export const bob = { authorization: `Bearer ${BOB_KEY}` };

/** A pino logger that keeps its JSON lines in `lines`. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createPinoLogger({ level: 'debug', destination }), lines };
}

export interface Harness {
  app: Express;
  /** What `app` was built from, to build variants (`createApp({ ...h.deps, blobs })`). */
  deps: AppDeps;
  config: ApiConfig;
  db: pg.Pool;
  redis: Redis;
  blobs: BlobStore;
  producer: Producer;
  /** QUEUE_PREFIX of this harness (the rate limiter's keys use it too). */
  prefix: string;
  names: QueueNames;
  stream: string;
  /** Every JSON log line written so far. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Use another Redis (e.g. a private one a test kills). */
  redisUrl?: string;
  /** Use another PostgreSQL (e.g. a private one a test kills). */
  databaseUrl?: string;
  /** Replace the Redis used by /ready (e.g. undefined). */
  readyRedis?: RedisPinger | null;
  migrated?: boolean;
}

/** createApp() on a fresh Postgres schema, a unique stream on real Redis and a temp blob dir. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const schema = await createTestSchema(options.databaseUrl ?? inject('databaseUrl'));
  const db = new pg.Pool({ connectionString: schema.url, max: 5, connectionTimeoutMillis: 2_000 });
  // A killed server makes idle clients emit errors; requests report it, the pool must not crash the test.
  db.on('error', () => {});
  if (options.migrated !== false) await migrate(db);
  const redis = new Redis(options.redisUrl ?? inject('redisUrl'), { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const prefix = uniqueName('api-test');
  const names = queueNames(prefix);
  const producer = createProducer({ redis, names });
  const dir = makeTempDir('api-blobs');
  const blobs = createFsBlobStore({ dir, fsync: false });
  const config = loadApiConfig({
    API_KEYS: `${ALICE_KEY}:alice,${BOB_KEY}:bob`,
    CALLBACK_ALLOWED_HOSTS: 'hooks.example.com,localhost:9999',
    PHOTO_DIR: dir,
    ...options.env,
  });
  const { logger, lines: logs } = memoryLogger();
  const deps: AppDeps = {
    config,
    db,
    producer,
    blobs,
    logger,
    redis: options.readyRedis === null ? undefined : (options.readyRedis ?? redis),
    // As main.ts wires them, on this test's own prefix.
    rateLimiter: createRateLimiter({ redis, prefix, limits: rateLimitsFromConfig(config), logger }),
    backpressure: createBackpressure({
      redis,
      names,
      ceiling: config.JOB_BACKLOG_CEILING,
      cacheMs: config.BACKLOG_CACHE_MS,
      logger,
    }),
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    config,
    db,
    redis,
    blobs,
    producer,
    prefix,
    names,
    stream: (names.shards[0] as QueueShard).stream,
    logs,
    async close() {
      await producer.close().catch(() => {});
      const shard = names.shards[0] as QueueShard;
      await redis.del(shard.stream, shard.delayed).catch(() => {});
      redis.disconnect();
      await db.end();
      await schema.drop().catch(() => {});
      removeTempDir(dir);
    },
  };
}
