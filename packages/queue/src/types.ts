import type { Cluster, Redis } from 'ioredis';
import type { QueueNames } from './keys.js';

/** An ioredis client: one node (`Redis`) or Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

/** A job as the consumer hands it to the handler. */
export interface JobMessage {
  readonly jobId: string;
  /** The producer's opaque payload; undefined when it sent none. */
  readonly payload: string | undefined;
  /** The producer's ordering key; undefined when it sent none. */
  readonly partitionKey: string | undefined;
  /**
   * 1-based attempt number: every start of the handler counts, including
   * starts on a consumer that died before it could acknowledge.
   */
  readonly attempt: number;
  /** When the entry was (re-)added to the stream, epoch ms. */
  readonly enqueuedAt: number;
  /** Redis stream entry id (unique within its shard). */
  readonly messageId: string;
  /** Index of the shard (stream) the entry came from; 0 with one shard. */
  readonly shard: number;
  /** How many times Redis delivered this entry (XPENDING delivery count). */
  readonly deliveryCount: number;
}

/** A job to enqueue. */
export interface JobInput {
  /** 1..256 characters; the handler's key to its work (e.g. a database row). */
  jobId: string;
  /**
   * Opaque to the queue, at most 64 KiB (e.g. JSON). Stored in Redis and the DLQ
   * as is, never in telemetry: keep secrets out.
   */
  payload?: string;
  /** 1..256 characters. Jobs with the same key are delivered in the order they were sent. */
  partitionKey?: string;
  /** @defaultValue 1 */
  attempt?: number;
}

/** pino-compatible logger (only these methods are used). */
export interface QueueLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface ProducerOptions {
  /** ioredis client (`Redis` or `Cluster`); the producer never closes it. */
  redis: RedisClient;
  /** @defaultValue `queueNames()` */
  names?: QueueNames;
  /** Approximate stream length cap (`XADD MAXLEN ~`), per shard. @defaultValue 100_000 entries */
  maxLen?: number;
  /**
   * Sends wait (`WAIT` after the XADDs of one turn, at most `replicaTimeoutMs`) until
   * this many replicas of the shard's master have their entries, so a failover
   * cannot lose a job the caller was told is queued. A send resolves even when
   * fewer replicas answered in time: right after a failover the new master has no
   * replica until the old one returns, and refusing jobs then would turn the
   * failover into an outage. Such shortfalls are logged (warn, then once per 50),
   * and that shard's sends skip the WAIT for 5 s before trying again, so they do
   * not each pay the timeout while no replica is there. 0: no WAIT. @defaultValue 0
   */
  replicas?: number;
  /** Bound of that WAIT. @defaultValue 100 ms */
  replicaTimeoutMs?: number;
  /** @defaultValue logs through `diag` */
  logger?: QueueLogger;
  /**
   * Metric names and buckets, given by the caller (the vocabulary is the application's):
   * instruments are named `<prefix>_jobs`, `<prefix>_processing_duration_seconds`, ... and the
   * two second histograms get `secondsBuckets` as their advice.
   * @defaultValue `{ prefix: 'media_cluster', secondsBuckets: SECONDS_BUCKETS }` (@media-cluster/semconv)
   */
  metrics?: QueueMetricsOptions;
}

export interface QueueMetricsOptions {
  /** Prefix of every instrument name. @defaultValue 'media_cluster' */
  prefix?: string;
  /** Bucket bounds in seconds of the processing and queue-latency histograms. @defaultValue SECONDS_BUCKETS */
  secondsBuckets?: readonly number[];
}

export interface Producer {
  /**
   * XADDs one job inside a PRODUCER span `send <stream>` and returns the entry id.
   * Sends made in one event-loop turn go out as one pipeline; those under one parent
   * context share one span (`messaging.batch.message_count`).
   */
  send(job: JobInput): Promise<string>;
  /** Later `send()` calls throw `QUEUE_CLOSED`; resolves once sends in progress settled. Every call gets the same promise. */
  close(): Promise<void>;
}

export interface ConsumerHooks {
  /** An attempt failed and `nextAttempt` is scheduled after the backoff. */
  onRetry?(job: JobMessage, error: unknown, nextAttempt: number): Promise<void> | void;
  /** Attempts are exhausted: the job is being moved to the DLQ. */
  onDeadLetter?(job: JobMessage, error: unknown): Promise<void> | void;
}

export interface ConsumerOptions {
  /**
   * ioredis client (`Redis` or `Cluster`) for acks and scripts; the consumer duplicates
   * it for its blocking reads (one per shard) and never closes it.
   */
  redis: RedisClient;
  /** @defaultValue `queueNames()` */
  names?: QueueNames;
  /** Consumer name in the group, unique per process. @defaultValue `<host>-<pid>-<random>` */
  consumer?: string;
  /**
   * Does one job. It runs inside the CONSUMER span's context, so spans it starts
   * nest under `process <stream>`. Resolve only once the result is durable: the
   * entry is acknowledged after it resolves. A throw schedules a retry (or the DLQ);
   * a `JobError` with `retryable: false` goes to the DLQ at once (reason `not_retryable`).
   * If another consumer took the entry over meanwhile (this one stalled past
   * `claimIdleMs`), the outcome is logged and left to the new owner.
   */
  handler: (job: JobMessage) => Promise<void>;
  /** Jobs handled at once by this consumer, over all shards. @defaultValue 4 */
  concurrency?: number;
  /** Entries idle this long in another consumer's pending list are taken over. @defaultValue 30_000 ms */
  claimIdleMs?: number;
  /** Attempts before the DLQ. @defaultValue 5 */
  maxAttempts?: number;
  /** Retry delay: `min(maxMs, baseMs * 2^(attempt-1))`, half of it jittered. @defaultValue `{ baseMs: 1_000, maxMs: 60_000 }` */
  backoff?: { baseMs: number; maxMs: number };
  /** XREADGROUP BLOCK. @defaultValue 2_000 ms */
  blockMs?: number;
  /** Most entries per XREADGROUP/XAUTOCLAIM (also capped by free slots). @defaultValue 100 */
  batchSize?: number;
  /** Approximate DLQ length cap (`XADD MAXLEN ~`); also caps re-added retries. @defaultValue 100_000 entries */
  maxLen?: number;
  /**
   * Metric names and buckets, given by the caller (the vocabulary is the application's):
   * instruments are named `<prefix>_jobs`, `<prefix>_processing_duration_seconds`, ... and the
   * two second histograms get `secondsBuckets` as their advice.
   * @defaultValue `{ prefix: 'media_cluster', secondsBuckets: SECONDS_BUCKETS }` (@media-cluster/semconv)
   */
  metrics?: QueueMetricsOptions;
  /** Awaited; their errors are logged, never thrown into the consumer loop. */
  hooks?: ConsumerHooks;
  /** @defaultValue logs through `diag` */
  logger?: QueueLogger;
}

export interface QueueStats {
  /** Entries delivered to the group and not acknowledged yet (XINFO GROUPS `pending`), summed over the shards. */
  pending: number;
  /** Entries not delivered to the group yet (XINFO GROUPS `lag`), summed over the shards; NaN when Redis cannot tell. */
  lag: number;
}

export interface Consumer {
  /** Creates the group when missing (MKSTREAM) and starts reading. */
  start(): Promise<void>;
  /** Idempotent: stops reading, finishes and acknowledges in-flight jobs, then resolves. */
  close(): Promise<void>;
  /** Jobs being handled right now. */
  readonly inflight: number;
  stats(): Promise<QueueStats>;
}
