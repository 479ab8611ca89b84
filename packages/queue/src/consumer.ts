import { context } from '@opentelemetry/api';
import { AckBatcher } from './ack-batcher.js';
import { ConsumerFailures } from './consumer-failures.js';
import { ConsumerMaintenance } from './consumer-maintenance.js';
import { ConsumerReader } from './consumer-reader.js';
import { ConsumerTelemetry } from './consumer-telemetry.js';
import { QueueError } from './errors.js';
import { ensureGroup, groupStats } from './group-stats.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import type { ConsumerState, Delivery, InFlight } from './internal-types.js';
import { type JobEntry, parseEntry } from './job-entry.js';
import { JobSlots } from './job-slots.js';
import type { QueueShard } from './keys.js';
import { warnAboutLegacyKeys } from './legacy-keys.js';
import {
  type ConsumerMetrics,
  createConsumerMetrics,
  registerGaugeSource,
  STATUS_SUCCEEDED,
} from './metrics.js';
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './options.js';
import { deleteConsumer1, runScript } from './scripts/index.js';
import type { Consumer, ConsumerOptions, JobMessage, QueueStats, RedisClient } from './types.js';

/**
 * Reads jobs from every shard's stream with a consumer group and runs the
 * handler on each, at most `concurrency` at a time. See {@link ConsumerOptions}.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  return new StreamConsumer(resolveConsumerOptions(options));
}

/**
 * Lifecycle and the hot path of one job. The blocking read loops (one per
 * shard) live in {@link ConsumerReader}, slot accounting in {@link JobSlots},
 * failure paths in {@link ConsumerFailures}, background loops (takeover, retry
 * promotion, heartbeat) in {@link ConsumerMaintenance}.
 */
class StreamConsumer implements Consumer {
  private readonly redis: RedisClient;
  private readonly names: ResolvedConsumerOptions['names'];
  private readonly name: string;
  private readonly telemetry: ConsumerTelemetry;
  private readonly metrics: ConsumerMetrics;
  /** Per shard. */
  private readonly acks: AckBatcher[];
  /** Per shard. */
  private readonly readers: ConsumerReader[];
  private readonly failures: ConsumerFailures;
  private readonly maintenance: ConsumerMaintenance;
  private readonly slots: JobSlots;
  private state: ConsumerState = 'new';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private unregisterGauges: (() => void) | undefined;
  readonly groupKey: string;

  constructor(private readonly o: ResolvedConsumerOptions) {
    const { redis, names, logger, consumer } = o;
    this.redis = redis;
    this.names = names;
    this.name = consumer;
    this.groupKey = `${names.destination}\u0000${names.group}`;
    this.slots = new JobSlots(o.concurrency, names.shards.length, (delivery) => this.dispatch(delivery));
    this.telemetry = new ConsumerTelemetry(names);
    this.metrics = createConsumerMetrics(o.metrics);
    const state = () => this.state;
    this.acks = names.shards.map((shard) => new AckBatcher(redis, shard.stream, names.group, logger));
    this.readers = names.shards.map(
      (shard) =>
        new ConsumerReader({
          redis,
          shard,
          shards: names.shards.length,
          group: names.group,
          consumer,
          blockMs: o.blockMs,
          batchSize: o.batchSize,
          logger,
          state,
          slots: this.slots,
          ensureGroup: () => ensureGroup(redis, shard.stream, names.group),
        }),
    );
    this.maintenance = new ConsumerMaintenance({
      redis,
      names,
      consumer,
      options: o,
      logger,
      slots: this.slots,
      acks: this.acks,
      state,
      onTrimmed: (shard, id) => this.failures.trimmed(shard, id),
    });
    this.failures = new ConsumerFailures({
      redis,
      names,
      consumer,
      options: o,
      telemetry: this.telemetry,
      metrics: this.metrics,
      logger,
      wakePromoter: (due) => this.maintenance.wakePromoter(due),
    });
  }

  get inflight(): number {
    return this.slots.size;
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new QueueError('QUEUE_CLOSED', 'start() after close()'));
    }
    if (!this.startPromise) {
      this.state = 'starting';
      this.startPromise = context.with(QUEUE_INTERNAL_CONTEXT, () => this.doStart());
      // A failed start (Redis unreachable) can be retried.
      this.startPromise.catch(() => {
        if (this.state === 'starting') {
          this.state = 'new';
          this.startPromise = undefined;
        }
      });
    }
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const { redis, names } = this;
    await Promise.all(names.shards.map((shard) => ensureGroup(redis, shard.stream, names.group)));
    await warnAboutLegacyKeys(redis, names, this.o.logger);
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.unregisterGauges = registerGaugeSource(this, this.o.metrics.prefix);
    for (const reader of this.readers) reader.start();
    this.maintenance.start();
    this.o.logger.info(
      {
        queue: names.destination,
        streams: names.shards.map((s) => s.stream),
        group: names.group,
        consumer: this.name,
        concurrency: this.o.concurrency,
      },
      'queue consumer started',
    );
  }

  close(): Promise<void> {
    this.closePromise ??= context.with(QUEUE_INTERNAL_CONTEXT, () => this.doClose());
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.state !== 'new';
    this.state = 'closing';
    if (wasStarted) {
      // Every step runs even when an earlier one failed (e.g. Redis is gone).
      const steps: [string, () => Promise<unknown>][] = [
        ['finish starting', async () => this.startPromise?.catch(() => undefined)],
        ['stop reading', () => this.stopReading()],
        ['finish background work', () => this.maintenance.settle()],
        ['finish in-flight jobs', () => this.slots.drain()],
        ['stop the heartbeat', async () => this.maintenance.stopHeartbeat()],
        ['acknowledge finished jobs', () => Promise.all(this.acks.map((acks) => acks.drain()))],
        ['leave the consumer group', () => this.leaveGroup()],
        ['close the reader connections', () => Promise.all(this.readers.map((reader) => reader.close()))],
      ];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.o.logger.error({ err: error, consumer: this.name }, `queue consumer close: ${what} failed`);
        }
      }
      this.o.logger.info({ consumer: this.name }, 'queue consumer closed');
    }
    this.unregisterGauges?.();
    this.state = 'closed';
  }

  private async stopReading(): Promise<void> {
    this.maintenance.stopClaimAndPromote();
    this.slots.wakeReaders();
    await Promise.all(this.readers.map((reader) => reader.stop()));
  }

  private leaveGroup(): Promise<unknown> {
    const { redis, names, name } = this;
    return Promise.all(
      names.shards.map((shard) => runScript(redis, deleteConsumer1, [shard.stream], [names.group, name])),
    );
  }

  stats(): Promise<QueueStats> {
    return groupStats(this.redis, this.names);
  }

  /** Releases the slot once `work` (a failure path) is done. */
  private settleAfter(inFlight: InFlight, work: Promise<void>): void {
    work.then(
      () => this.slots.release(inFlight.key),
      (error: unknown) => {
        // Only a bug gets here; the entry stays pending and is redelivered.
        this.o.logger.error(
          { err: error, entry_id: inFlight.id, consumer: this.name },
          'queue consumer: unexpected error',
        );
        this.slots.release(inFlight.key);
      },
    );
  }

  // ------------------------------------------------------------- one job

  private dispatch({ shard, id, fields, deliveryCount }: Delivery): void {
    const inFlight = this.slots.add(shard, id);
    this.metrics.consumed.add(1);
    const parsed = parseEntry(fields);
    if (parsed.ok) this.process(inFlight, parsed.entry, deliveryCount);
    else {
      const keys = this.names.shards[shard] as QueueShard;
      this.settleAfter(inFlight, this.failures.malformed(keys, id, parsed, deliveryCount));
    }
  }

  /**
   * The hot path. Not an async function on purpose: with an SDK registered,
   * AsyncLocalStorage runs a hook for every promise (and every await adds
   * one), so a job costs one `then` here beyond the handler's own promise.
   */
  private process(inFlight: InFlight, entry: JobEntry, deliveryCount: number): void {
    const attempt = entry.attempt + deliveryCount - 1;
    const job: JobMessage = {
      jobId: entry.jobId,
      payload: entry.payload,
      partitionKey: entry.partitionKey,
      attempt,
      enqueuedAt: entry.enqueuedAt,
      messageId: inFlight.id,
      shard: inFlight.shard,
      deliveryCount,
    };
    const { span, ctx } = this.telemetry.start(
      entry.carrier,
      inFlight.id,
      inFlight.shard,
      entry.jobId,
      attempt,
      deliveryCount,
    );
    if (attempt > this.o.maxAttempts) {
      this.settleAfter(inFlight, this.failures.exceeded(job, entry, span, ctx));
      return;
    }
    const now = Date.now();
    this.metrics.queueLatency.record(now > entry.enqueuedAt ? (now - entry.enqueuedAt) / 1000 : 0);
    inFlight.span = span;
    const started = performance.now();
    const onError = (error: unknown) => {
      inFlight.span = undefined;
      const seconds = (performance.now() - started) / 1000;
      this.settleAfter(
        inFlight,
        this.failures.failed(job, entry, error, seconds, span, ctx, inFlight.lost).finally(() => span.end()),
      );
    };
    let result: unknown;
    try {
      result = context.with(ctx, this.o.handler, undefined, job);
    } catch (error) {
      onError(error);
      return;
    }
    (result instanceof Promise ? result : Promise.resolve(result)).then(() => {
      inFlight.span = undefined;
      try {
        this.metrics.processingDuration.record((performance.now() - started) / 1000, STATUS_SUCCEEDED);
        this.metrics.jobs.add(1, STATUS_SUCCEEDED);
        span.end();
        (this.acks[inFlight.shard] as AckBatcher).add(inFlight.id);
      } finally {
        this.slots.release(inFlight.key);
      }
    }, onError);
  }
}
