import { context } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { AckBatcher } from './ack-batcher.js';
import { reconnectDelayMs } from './backoff.js';
import { ConsumerFailures } from './consumer-failures.js';
import { ConsumerMaintenance } from './consumer-maintenance.js';
import { ConsumerTelemetry } from './consumer-telemetry.js';
import { QueueError } from './errors.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import type { ConsumerState, InFlight, StreamEntry } from './internal-types.js';
import { type JobEntry, parseEntry } from './job-entry.js';
import { FailureLog } from './logger.js';
import {
  type ConsumerMetrics,
  createConsumerMetrics,
  registerGaugeSource,
  STATUS_SUCCEEDED,
} from './metrics.js';
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './options.js';
import {
  closeReader,
  delay,
  openReader,
  readerConnectionName,
  UNBLOCK_GRACE_MS,
  unblockReader,
} from './reader-connection.js';
import { deleteConsumer1, runScript } from './scripts/index.js';
import type { Consumer, ConsumerOptions, JobMessage, QueueStats } from './types.js';

type ReadReply = [stream: string, entries: StreamEntry[]][] | null;

/**
 * Reads jobs from the stream with a consumer group and runs the handler on
 * each, at most `concurrency` at a time. See {@link ConsumerOptions}.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  return new StreamConsumer(resolveConsumerOptions(options));
}

/**
 * Lifecycle, the read loop and the hot path of one job. Failure paths live in
 * {@link ConsumerFailures}, background loops (takeover, retry promotion,
 * heartbeat) in {@link ConsumerMaintenance}.
 */
class StreamConsumer implements Consumer {
  private readonly redis: Redis;
  private readonly names: ResolvedConsumerOptions['names'];
  private readonly name: string;
  private readonly readerName: string;
  private readonly telemetry: ConsumerTelemetry;
  private readonly metrics: ConsumerMetrics;
  private readonly acks: AckBatcher;
  private readonly failures: ConsumerFailures;
  private readonly maintenance: ConsumerMaintenance;
  private readonly jobs = new Map<string, InFlight>();
  /** Handlers' signal (unless `abortOnTakeover`): aborted when close() has waited `drainTimeoutMs`. */
  private readonly closing = new AbortController();
  private state: ConsumerState = 'new';
  private reader: Redis | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private loopDone: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private wakeLoop: (() => void) | undefined;
  private unregisterGauges: (() => void) | undefined;
  private readonly readFailures: FailureLog;
  readonly groupKey: string;

  constructor(private readonly o: ResolvedConsumerOptions) {
    this.redis = o.redis;
    this.names = o.names;
    this.name = o.consumer;
    this.readerName = readerConnectionName(o.consumer);
    this.groupKey = `${o.names.stream}\u0000${o.names.group}`;
    this.telemetry = new ConsumerTelemetry(o.names, o.parentMode);
    this.metrics = createConsumerMetrics(o.metrics);
    this.acks = new AckBatcher(o.redis, o.names.stream, o.names.group, o.logger);
    const fields = { stream: o.names.stream, group: o.names.group, consumer: o.consumer };
    this.readFailures = new FailureLog(o.logger, 'XREADGROUP', fields);
    const { redis, names, logger } = o;
    this.maintenance = new ConsumerMaintenance({
      redis,
      names,
      consumer: o.consumer,
      options: o,
      logger,
      jobs: this.jobs,
      acks: this.acks,
      state: () => this.state,
      dispatch: (id, entryFields, deliveryCount) => this.dispatch(id, entryFields, deliveryCount),
      onTrimmed: (id) => this.failures.trimmed(id),
    });
    this.failures = new ConsumerFailures({
      redis,
      names,
      consumer: o.consumer,
      options: o,
      telemetry: this.telemetry,
      metrics: this.metrics,
      logger,
      wakePromoter: (due) => this.maintenance.wakePromoter(due),
    });
  }

  get inflight(): number {
    return this.jobs.size;
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
    await this.ensureGroup();
    if (this.state !== 'starting') return;
    const reader = openReader(this.redis, this.readerName, this.o.logger, this.name);
    this.reader = reader;
    this.state = 'running';
    this.unregisterGauges = registerGaugeSource(this, this.o.metrics.prefix);
    this.loopDone = this.readLoop(reader);
    this.maintenance.start();
    this.o.logger.info(
      {
        stream: this.names.stream,
        group: this.names.group,
        consumer: this.name,
        concurrency: this.o.concurrency,
      },
      'queue consumer started',
    );
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From '0', not '$': jobs enqueued before the first worker started are not skipped.
      await this.redis.xgroup('CREATE', this.names.stream, this.names.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
    }
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
        ['finish in-flight jobs', () => this.drainJobs()],
        ['stop the heartbeat', async () => this.maintenance.stopHeartbeat()],
        ['acknowledge finished jobs', () => this.acks.drain()],
        [
          'leave the consumer group',
          () => runScript(this.redis, deleteConsumer1, [this.names.stream], [this.names.group, this.name]),
        ],
        ['close the reader connection', async () => this.reader && closeReader(this.reader)],
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
    this.slotFreed?.();
    this.wakeLoop?.();
    if (!this.loopDone) return;
    const exited = await Promise.race([this.loopDone.then(() => true), delay(0).then(() => false)]);
    if (exited) return;
    await unblockReader(this.redis, this.readerName).catch((error) =>
      this.o.logger.warn(
        { err: error, consumer: this.name },
        'CLIENT UNBLOCK failed; dropping the reader connection',
      ),
    );
    const done = await Promise.race([
      this.loopDone.then(() => true),
      delay(UNBLOCK_GRACE_MS).then(() => false),
    ]);
    if (!done) {
      // Entries Redis delivered into a dropped reply stay pending and are claimed after claimIdleMs.
      this.reader?.disconnect();
      await this.loopDone;
    }
  }

  private async drainJobs(): Promise<void> {
    if (this.jobs.size === 0) return;
    const idle = new Promise<void>((resolve) => {
      this.drained = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    if (this.o.drainTimeoutMs !== undefined) {
      timer = setTimeout(() => {
        this.o.logger.warn(
          { consumer: this.name, inflight: this.jobs.size, drainTimeoutMs: this.o.drainTimeoutMs },
          'close(): in-flight jobs still running; aborting their signals',
        );
        for (const job of this.jobs.values()) {
          job.controller?.abort(new QueueError('QUEUE_ABORTED', 'consumer is closing'));
        }
        this.closing.abort(new QueueError('QUEUE_ABORTED', 'consumer is closing'));
      }, this.o.drainTimeoutMs);
    }
    try {
      await idle;
    } finally {
      clearTimeout(timer);
    }
  }

  async stats(): Promise<QueueStats> {
    const groups = (await context.with(QUEUE_INTERNAL_CONTEXT, () =>
      this.redis.xinfo('GROUPS', this.names.stream),
    )) as unknown[][];
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
      if (info.get('name') !== this.names.group) continue;
      const lag = info.get('lag');
      return {
        pending: Number(info.get('pending') ?? 0),
        lag: lag === null || lag === undefined ? Number.NaN : Number(lag),
      };
    }
    throw new QueueError('QUEUE_GROUP_MISSING', `consumer group ${this.names.group} does not exist`);
  }

  // ------------------------------------------------------------- reading

  private async readLoop(reader: Redis): Promise<void> {
    const { stream, group } = this.names;
    const { concurrency, batchSize, blockMs } = this.o;
    while (this.state === 'running') {
      const free = concurrency - this.jobs.size;
      if (free <= 0) {
        await this.waitForSlot();
        continue;
      }
      let reply: ReadReply;
      try {
        reply = (await reader.xreadgroup(
          'GROUP',
          group,
          this.name,
          'COUNT',
          Math.min(free, batchSize),
          'BLOCK',
          blockMs,
          'STREAMS',
          stream,
          '>',
        )) as ReadReply;
      } catch (error) {
        if (this.state !== 'running') break;
        const failures = this.readFailures.failed(error);
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          // The stream or group was deleted (e.g. Redis restarted without persistence).
          await this.ensureGroup().catch(() => undefined);
        }
        await this.pause(reconnectDelayMs(failures));
        continue;
      }
      this.readFailures.succeeded();
      // Dispatch even when closing: these entries are already in this consumer's pending list.
      const entries = reply?.[0]?.[1];
      if (entries) for (const [id, fields] of entries) this.dispatch(id, fields, 1);
    }
  }

  /** Waits for a free slot, then one more turn so jobs finishing together free their slots for one bigger read. */
  private async waitForSlot(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.slotFreed = resolve;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeLoop = done;
    });
  }

  private dispatch(id: string, fields: string[] | null, deliveryCount: number): void {
    const controller = this.o.abortOnTakeover ? new AbortController() : undefined;
    const inFlight: InFlight = { id, controller, span: undefined, lost: false };
    this.jobs.set(id, inFlight);
    this.metrics.consumed.add(1);
    const parsed = parseEntry(fields);
    if (parsed.ok) this.process(inFlight, parsed.entry, deliveryCount);
    else this.settleAfter(inFlight, this.failures.malformed(id, parsed, deliveryCount));
  }

  private release(id: string): void {
    this.jobs.delete(id);
    const freed = this.slotFreed;
    if (freed) {
      this.slotFreed = undefined;
      freed();
    }
    if (this.jobs.size === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }

  /** Releases the slot once `work` (a failure path) is done. */
  private settleAfter(inFlight: InFlight, work: Promise<void>): void {
    work.then(
      () => this.release(inFlight.id),
      (error: unknown) => {
        // Only a bug gets here; the entry stays pending and is redelivered.
        this.o.logger.error(
          { err: error, entry_id: inFlight.id, consumer: this.name },
          'queue consumer: unexpected error',
        );
        this.release(inFlight.id);
      },
    );
  }

  // ------------------------------------------------------------- one job

  /**
   * The hot path. Not an async function on purpose: with an SDK registered,
   * AsyncLocalStorage runs a hook for every promise (and every await adds
   * one), so a job costs one `then` here beyond the handler's own promise.
   */
  private process(inFlight: InFlight, entry: JobEntry, deliveryCount: number): void {
    const attempt = entry.attempt + deliveryCount - 1;
    const job: JobMessage = {
      jobId: entry.jobId,
      petId: entry.petId,
      attempt,
      enqueuedAt: entry.enqueuedAt,
      messageId: inFlight.id,
      deliveryCount,
    };
    const { span, ctx } = this.telemetry.start(
      entry.carrier,
      inFlight.id,
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
      // Aborted by this consumer (entry taken over, or closing): not the job's fault.
      const aborted = inFlight.lost || !!inFlight.controller?.signal.aborted || this.closing.signal.aborted;
      this.settleAfter(
        inFlight,
        this.failures.failed(job, entry, error, seconds, span, ctx, aborted).finally(() => span.end()),
      );
    };
    let result: unknown;
    try {
      const signal = inFlight.controller?.signal ?? this.closing.signal;
      result = context.with(ctx, this.o.handler, undefined, job, signal);
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
        this.acks.add(inFlight.id);
      } finally {
        this.release(inFlight.id);
      }
    }, onError);
  }
}
