import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { METRIC_PREFIX, SECONDS_BUCKETS } from '@media-cluster/semconv';
import { z } from 'zod';
import { QueueError } from './errors.js';
import { type QueueNames, queueNames } from './keys.js';
import { diagLogger } from './logger.js';
import type { ConsumerOptions, ProducerOptions, QueueMetricsOptions } from './types.js';

/** Defaults, with units. */
export const DEFAULTS = Object.freeze({
  maxLen: 100_000, // entries, XADD MAXLEN ~
  concurrency: 4, // jobs at once per consumer (WORKER_CONCURRENCY)
  claimIdleMs: 30_000, // 30 s before a stalled entry is taken over
  maxAttempts: 5,
  backoff: Object.freeze({ baseMs: 1_000, maxMs: 60_000 }), // 1 s doubling to 60 s
  blockMs: 2_000, // 2 s XREADGROUP BLOCK (close() unblocks it at once)
  batchSize: 100, // entries per XREADGROUP / XAUTOCLAIM
  replicas: 0, // replicas that must have an entry before send() resolves (WAIT); 0: no WAIT
  replicaTimeoutMs: 100, // 100 ms bound of that WAIT (a healthy replica answers within a round trip)
});

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const producerSchema = z.strictObject({
  maxLen: int(1, 1e9).default(DEFAULTS.maxLen),
  replicas: int(0, 100).default(DEFAULTS.replicas),
  replicaTimeoutMs: int(1, 60_000).default(DEFAULTS.replicaTimeoutMs),
});

const consumerSchema = z.strictObject({
  consumer: z.string().min(1).max(200).regex(/^\S+$/, 'expected no spaces').optional(),
  concurrency: int(1, 10_000).default(DEFAULTS.concurrency),
  claimIdleMs: int(10, 86_400_000).default(DEFAULTS.claimIdleMs),
  maxAttempts: int(1, 1_000).default(DEFAULTS.maxAttempts),
  backoff: z
    .object({ baseMs: int(0, 86_400_000), maxMs: int(0, 86_400_000) })
    .refine((b) => b.baseMs <= b.maxMs, 'expected baseMs <= maxMs')
    .default(DEFAULTS.backoff),
  blockMs: int(1, 600_000).default(DEFAULTS.blockMs),
  batchSize: int(1, 10_000).default(DEFAULTS.batchSize),
  maxLen: int(1, 1e9).default(DEFAULTS.maxLen),
});

function fail(issues: string[]): never {
  throw new QueueError('QUEUE_INVALID_OPTIONS', `Invalid queue options:\n  - ${issues.join('\n  - ')}`);
}

function zodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}

function checkRedis(redis: unknown, issues: string[]): void {
  const r = redis as { xadd?: unknown; duplicate?: unknown } | undefined;
  if (!r || typeof r.xadd !== 'function' || typeof r.duplicate !== 'function') {
    issues.push('redis: expected an ioredis client');
  }
}

const isName = (value: unknown) => typeof value === 'string' && value.length > 0;

function checkNames(names: QueueNames | undefined, issues: string[]): QueueNames {
  if (names === undefined) return queueNames();
  for (const key of ['prefix', 'destination', 'group'] as const) {
    if (!isName(names?.[key])) issues.push(`names.${key}: expected a name (build names with queueNames())`);
  }
  if (!Array.isArray(names?.shards) || names.shards.length === 0) {
    issues.push('names.shards: expected at least one shard (build names with queueNames())');
  } else {
    names.shards.forEach((shard, i) => {
      for (const key of ['stream', 'dlq', 'delayed'] as const) {
        if (!isName(shard?.[key])) issues.push(`names.shards[${i}].${key}: expected a key name`);
      }
    });
  }
  return names;
}

export interface ResolvedMetricsOptions {
  prefix: string;
  secondsBuckets: readonly number[];
}

const metricsSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*)')
      .default(METRIC_PREFIX),
    secondsBuckets: z
      .array(z.number().positive())
      .min(1)
      .refine((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), 'expected increasing bounds')
      .default([...SECONDS_BUCKETS]),
  })
  .default({ prefix: METRIC_PREFIX, secondsBuckets: [...SECONDS_BUCKETS] });

function checkMetrics(metrics: QueueMetricsOptions | undefined, issues: string[]): ResolvedMetricsOptions {
  const parsed = metricsSchema.safeParse(metrics);
  if (parsed.success) return parsed.data;
  issues.push(...zodIssues(parsed.error).map((i) => `metrics.${i}`));
  return { prefix: METRIC_PREFIX, secondsBuckets: SECONDS_BUCKETS };
}

export function resolveProducerOptions(options: ProducerOptions) {
  const issues: string[] = [];
  checkRedis(options?.redis, issues);
  const names = checkNames(options?.names, issues);
  const metrics = checkMetrics(options?.metrics, issues);
  const {
    redis: _redis,
    names: _names,
    logger,
    metrics: _metrics,
    ...rest
  } = options ?? ({} as ProducerOptions);
  const parsed = producerSchema.safeParse(rest);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  if (issues.length > 0 || !parsed.success) fail(issues);
  return { redis: options.redis, names, metrics, logger: logger ?? diagLogger, ...parsed.data };
}

export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function resolveConsumerOptions(options: ConsumerOptions) {
  const issues: string[] = [];
  checkRedis(options?.redis, issues);
  const names = checkNames(options?.names, issues);
  const metrics = checkMetrics(options?.metrics, issues);
  if (typeof options?.handler !== 'function') issues.push('handler: expected a function');
  const {
    redis,
    handler,
    hooks,
    logger,
    names: _names,
    metrics: _metrics,
    ...rest
  } = options ?? ({} as ConsumerOptions);
  for (const hook of ['onRetry', 'onDeadLetter'] as const) {
    if (hooks?.[hook] !== undefined && typeof hooks[hook] !== 'function')
      issues.push(`hooks.${hook}: expected a function`);
  }
  // strictObject: an option this version no longer has (e.g. `parentMode`) is reported, not ignored.
  const parsed = consumerSchema.safeParse(rest);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  if (issues.length > 0 || !parsed.success) fail(issues);
  const { consumer, ...settings } = parsed.data;
  return {
    redis,
    names,
    metrics,
    handler,
    hooks: hooks ?? {},
    logger: logger ?? diagLogger,
    consumer: consumer ?? defaultConsumerName(),
    ...settings,
  };
}

export type ResolvedConsumerOptions = ReturnType<typeof resolveConsumerOptions>;
