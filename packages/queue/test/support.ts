import { uniqueName } from '@media-cluster/testkit';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Redis } from 'ioredis';
import { type JobInput, type Producer, type QueueLogger, type QueueNames, queueNames } from '../src/index.js';

/** A fresh set of queue names (own stream, group, DLQ, delayed set) per test. */
export function testNames(label = 'q'): QueueNames {
  return queueNames(uniqueName(label));
}

/** Sends every job in one turn (one pipeline); resolves with the entry ids in order. */
export function sendAll(producer: Producer, jobs: readonly JobInput[]): Promise<string[]> {
  return Promise.all(jobs.map((job) => producer.send(job)));
}

/** Clients opened through here are closed by closeClients() (afterEach/afterAll). */
const clients = new Set<Redis>();
export function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  // Outage tests kill Redis on purpose; reconnect errors are expected there.
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}
export async function closeClients(): Promise<void> {
  await Promise.allSettled([...clients].map((c) => c.quit().catch(() => c.disconnect())));
  clients.clear();
}

export async function deleteQueue(redis: Redis, names: QueueNames): Promise<void> {
  await redis.del(names.stream, names.dlq, names.delayed);
}

/** Registers a tracer provider (W3C propagator, AsyncLocalStorage context) that keeps spans in memory. */
export function inMemoryTracing(): { exporter: InMemorySpanExporter; shutdown(): Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  return {
    exporter,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
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

/** XINFO GROUPS pending count of the test's group. */
export async function pendingCount(redis: Redis, names: QueueNames): Promise<number> {
  const summary = (await redis.xpending(names.stream, names.group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

/** Entries of a stream as objects (id + fields). */
export async function readStream(
  redis: Redis,
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
