import { uniqueName } from '@media-cluster/testkit';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import type { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import {
  connectRedis,
  type JobInput,
  type Producer,
  type QueueLogger,
  type QueueNames,
  type QueueShard,
  queueNames,
  type RedisClient,
} from '../src/index.js';
import { registerTracing } from './tracing.js';

/** A fresh set of queue names (own streams, group, DLQs, delayed sets) per test. */
export function testNames(label = 'q', shards = 1): QueueNames {
  return queueNames(uniqueName(label), { shards });
}

/** The keys of a one-shard queue. */
export function keysOf(names: QueueNames): QueueShard {
  return names.shards[0] as QueueShard;
}

/**
 * Where the suite runs: one redis-server, or a Redis Cluster of 3 masters with a
 * replica each (the global setup starts one per run). Every queue test runs on both.
 */
export interface Backend {
  readonly name: 'redis' | 'cluster';
  /** An ioredis client on this backend (closed by closeClients()). */
  client(options?: { maxRetriesPerRequest?: number | null }): RedisClient;
  /** The environment a child process needs to reach it (REDIS_URL or REDIS_CLUSTER_NODES). */
  env(): Record<string, string>;
}

export const BACKENDS: readonly Backend[] = [
  {
    name: 'redis',
    client: (options) => track(connectRedis({ url: inject('redisUrl') }, clientOptions(options))),
    env: () => ({ REDIS_URL: inject('redisUrl') }),
  },
  {
    name: 'cluster',
    client: (options) =>
      track(
        connectRedis(
          { url: '', clusterNodes: inject('redisClusterNodes').split(',') },
          clientOptions(options),
        ),
      ),
    env: () => ({ REDIS_CLUSTER_NODES: inject('redisClusterNodes') }),
  },
];

function clientOptions(options: { maxRetriesPerRequest?: number | null } = {}) {
  return { maxRetriesPerRequest: options.maxRetriesPerRequest ?? null };
}

function track(client: RedisClient): RedisClient {
  // Outage tests kill Redis on purpose; reconnect errors are expected there.
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

/** CLIENT LIST of the node, or of every master of a Cluster (a reader blocks on its shard's master). */
export async function clientList(redis: RedisClient): Promise<string> {
  const nodes =
    'isCluster' in redis && redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  const lists = await Promise.all(nodes.map((node) => node.call('CLIENT', 'LIST')));
  return lists.map(String).join('\n');
}

/** Sends every job in one turn (one pipeline); resolves with the entry ids in order. */
export function sendAll(producer: Producer, jobs: readonly JobInput[]): Promise<string[]> {
  return Promise.all(jobs.map((job) => producer.send(job)));
}

/** Clients opened through here are closed by closeClients() (afterEach/afterAll). */
const clients = new Set<RedisClient>();
export async function closeClients(): Promise<void> {
  await Promise.allSettled([...clients].map((c) => c.quit().catch(() => c.disconnect())));
  clients.clear();
}

export async function deleteQueue(redis: RedisClient, names: QueueNames): Promise<void> {
  // One shard's keys share a slot, so one DEL per shard is legal on Redis Cluster too.
  for (const shard of names.shards) await redis.del(shard.stream, shard.dlq, shard.delayed);
}

/** Registers a tracer provider (W3C propagator, AsyncLocalStorage context) that keeps spans in memory. */
export function inMemoryTracing(): { exporter: InMemorySpanExporter; shutdown(): Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const { shutdown } = registerTracing([new SimpleSpanProcessor({ exporter })]);
  return { exporter, shutdown };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error' | 'debug';
  msg: string;
  obj: Record<string, unknown>;
}

/** A pino-shaped logger that records every line. */
export function recordingLogger(): QueueLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg: string): void => {
      lines.push({ level, msg, obj: obj as Record<string, unknown> });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** XPENDING count of the test's group, over every shard. */
export async function pendingCount(redis: RedisClient, names: QueueNames): Promise<number> {
  let total = 0;
  for (const shard of names.shards) {
    const summary = (await redis.xpending(shard.stream, names.group)) as [number, ...unknown[]];
    total += Number(summary[0]);
  }
  return total;
}

/** Entries of a stream as objects (id + fields). */
export async function readStream(
  redis: RedisClient,
  key: string,
): Promise<{ id: string; fields: Record<string, string> }[]> {
  const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    return { id, fields };
  });
}

export function spansNamed(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

/** A promise with its resolve function, for handlers the test releases. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
