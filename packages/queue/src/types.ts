import type { Redis } from 'ioredis';
import type { QueueNames } from './keys.js';

/** A job as the consumer hands it to the handler. */
export interface JobMessage {
  readonly jobId: string;
  readonly petId: string;
  /**
   * 1-based attempt number: every start of the handler counts, including
   * starts on a consumer that died before it could acknowledge.
   */
  readonly attempt: number;
  /** When the entry was (re-)added to the stream, epoch ms. */
  readonly enqueuedAt: number;
  /** Redis stream entry id. */
  readonly messageId: string;
  /** How many times Redis delivered this entry (XPENDING delivery count). */
  readonly deliveryCount: number;
}

/** A job to enqueue. */
export interface JobInput {
  jobId: string;
  petId: string;
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
  /** ioredis client; the producer never closes it. */
  redis: Redis;
  /** @defaultValue `queueNames()` */
  names?: QueueNames;
  /** Approximate stream length cap (`XADD MAXLEN ~`). @defaultValue 100_000 entries */
  maxLen?: number;
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
  /** XADDs one job inside a PRODUCER span `send <stream>` and returns the entry id. */
  send(job: JobInput): Promise<string>;
  /**
   * XADDs several jobs in one round trip (a pipeline) inside one PRODUCER span
   * with `messaging.batch.message_count`; returns the entry ids in order.
   */
  sendBatch(jobs: readonly JobInput[]): Promise<string[]>;
  /** Idempotent; later `send()` calls throw `QUEUE_CLOSED`. Waits for sends in progress. */
  close(): Promise<void>;
}

export interface ConsumerHooks {
  /** An attempt failed and `nextAttempt` is scheduled after the backoff. */
  onRetry?(job: JobMessage, error: unknown, nextAttempt: number): Promise<void> | void;
  /** Attempts are exhausted: the job is being moved to the DLQ. */
  onDeadLetter?(job: JobMessage, error: unknown): Promise<void> | void;
  /** An entry without valid job fields was moved to the DLQ (or was trimmed before it was acked). */
  onMalformed?(entryId: string, reason: string): void;
}

export interface ConsumerOptions {
  /** ioredis client for acks and scripts; the consumer duplicates it for its blocking reads and never closes it. */
  redis: Redis;
  /** @defaultValue `queueNames()` */
  names?: QueueNames;
  /** Consumer name in the group, unique per process. @defaultValue `<host>-<pid>-<random>` */
  consumer?: string;
  /**
   * Does one job. It runs inside the CONSUMER span's context, so spans it starts
   * nest under `process <stream>`. Resolve only once the result is durable: the
   * entry is acknowledged after it resolves. A throw schedules a retry (or the DLQ);
   * an error with `retryable: false` goes to the DLQ at once (reason `not_retryable`).
   * `signal` aborts when `close()` has waited `drainTimeoutMs`, and, with
   * `abortOnTakeover`, when another consumer took the entry over.
   */
  handler: (job: JobMessage, signal: AbortSignal) => Promise<void>;
  /** Jobs handled at once by this consumer. @defaultValue 4 */
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
  /**
   * `'parent'`: the CONSUMER span's parent is the producer's context (one trace per job).
   * `'link'`: a new trace per attempt. A link to the producer context is always added.
   * @defaultValue 'parent'
   */
  parentMode?: 'parent' | 'link';
  /** `close()` aborts handlers' signals after this long (then still waits for them). @defaultValue no limit */
  drainTimeoutMs?: number;
  /**
   * Give each job its own AbortSignal, aborted when the heartbeat finds that
   * another consumer took the entry over (this one stalled past `claimIdleMs`).
   * Worth it for long jobs; off by default because an AbortController costs
   * ~2.6 µs on Node 20, more than the queue's own per-job work. Without it,
   * a taken-over job is logged and its failure is left to the new owner.
   * @defaultValue false
   */
  abortOnTakeover?: boolean;
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
  /** Entries delivered to the group and not acknowledged yet (XINFO GROUPS `pending`). */
  pending: number;
  /** Entries not delivered to the group yet (XINFO GROUPS `lag`); NaN when Redis cannot tell. */
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
