import { type Context, context, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { AckBatcher } from './ack-batcher.js';
import { reconnectDelayMs, retryDelayMs } from './backoff.js';
import { ConsumerTelemetry, recordFailure } from './consumer-telemetry.js';
import { QueueError } from './errors.js';
import { type DeadLetterReason, DLQ_FIELDS } from './fields.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import { type JobEntry, jobFields, type ParsedEntry, parseEntry } from './job-entry.js';
import { describeError, FailureLog } from './logger.js';
import {
  type ConsumerMetrics,
  createConsumerMetrics,
  registerGaugeSource,
  STATUS_DEAD_LETTERED,
  STATUS_FAILED,
  STATUS_SUCCEEDED,
} from './metrics.js';
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './options.js';
import {
  claim1,
  deadLetter2,
  deleteConsumer1,
  promote3,
  retry2,
  runScript,
  touch1,
} from './scripts/index.js';
import {
  ATTR_ATTEMPT,
  ATTR_DEAD_LETTER_REASON,
  ATTR_DELIVERY_COUNT,
  ATTR_ERROR_MESSAGE,
  ATTR_ERROR_TYPE,
  ATTR_NEXT_ATTEMPT,
  ATTR_RETRY_DELAY_MS,
  EVENT_DEAD_LETTERED,
  EVENT_OWNERSHIP_LOST,
  EVENT_RETRY_SCHEDULED,
} from './semconv.js';
import type { Consumer, ConsumerOptions, JobMessage, QueueStats } from './types.js';

/** Check the delayed set at least this often, for retries scheduled by consumers that died since. */
const PROMOTE_POLL_MS = 1_000;
/** Due retries moved per script call. */
const PROMOTE_BATCH = 100;
/** Give XREADGROUP this long to return after CLIENT UNBLOCK before dropping the reader connection. */
const UNBLOCK_GRACE_MS = 1_000;
/** A malformed entry's fields are kept in the DLQ up to this size. */
const MAX_RAW_BYTES = 8_192;

type StreamEntry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: StreamEntry[]][] | null;
type ClaimReply = [cursor: string, entries: StreamEntry[], deleted: string[], counts: number[]];

/** One delivered entry while this consumer works on it. */
interface InFlight {
  readonly id: string;
  /** Only with `abortOnTakeover` (an AbortController costs ~2.6 µs on Node 20, more than the rest of a job's path). */
  readonly controller: AbortController | undefined;
  /** Set while the handler runs (the heartbeat protects only those). */
  span: Span | undefined;
  lost: boolean;
}

/**
 * Reads jobs from the stream with a consumer group and runs the handler on
 * each, at most `concurrency` at a time. See {@link ConsumerOptions}.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  return new StreamConsumer(resolveConsumerOptions(options));
}

class StreamConsumer implements Consumer {
  private readonly redis: Redis;
  private readonly names: ResolvedConsumerOptions['names'];
  private readonly name: string;
  private readonly readerName: string;
  private readonly telemetry: ConsumerTelemetry;
  private readonly metrics: ConsumerMetrics;
  private readonly acks: AckBatcher;
  private readonly jobs = new Map<string, InFlight>();
  private readonly background = new Set<Promise<unknown>>();
  /** Handlers' signal (unless `abortOnTakeover`): aborted when close() has waited `drainTimeoutMs`. */
  private readonly closing = new AbortController();
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private reader: Redis | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private loopDone: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private wakeLoop: (() => void) | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoteAt = Number.POSITIVE_INFINITY;
  private claimCursor = '0-0';
  private unregisterGauges: (() => void) | undefined;
  private readonly readFailures: FailureLog;
  private readonly claimFailures: FailureLog;
  private readonly promoteFailures: FailureLog;
  private readonly heartbeatFailures: FailureLog;
  readonly groupKey: string;

  constructor(private readonly o: ResolvedConsumerOptions) {
    this.redis = o.redis;
    this.names = o.names;
    this.name = o.consumer;
    this.readerName = `mcq-reader-${o.consumer}`.replace(/[^\x21-\x7e]/g, '_');
    this.groupKey = `${o.names.stream}\u0000${o.names.group}`;
    this.telemetry = new ConsumerTelemetry(o.names, o.parentMode);
    this.metrics = createConsumerMetrics();
    this.acks = new AckBatcher(o.redis, o.names.stream, o.names.group, o.logger);
    const fields = { stream: o.names.stream, group: o.names.group, consumer: o.consumer };
    this.readFailures = new FailureLog(o.logger, 'XREADGROUP', fields);
    this.claimFailures = new FailureLog(o.logger, 'claiming stalled entries', fields);
    this.promoteFailures = new FailureLog(o.logger, 'promoting due retries', fields);
    this.heartbeatFailures = new FailureLog(o.logger, 'heartbeat of running jobs', fields);
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
    const reader = this.redis.duplicate({ connectionName: this.readerName });
    const readerErrors = new FailureLog(this.o.logger, 'reader connection', { consumer: this.name });
    reader.on('error', (error) => readerErrors.failed(error));
    reader.on('ready', () => readerErrors.succeeded());
    this.reader = reader;
    this.state = 'running';
    this.unregisterGauges = registerGaugeSource(this);
    this.loopDone = this.readLoop(reader);
    this.runClaim();
    this.schedulePromote(0);
    this.scheduleHeartbeat();
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
        ['finish background work', () => this.settleBackground()],
        ['finish in-flight jobs', () => this.drainJobs()],
        ['stop the heartbeat', async () => clearTimeout(this.heartbeatTimer)],
        ['acknowledge finished jobs', () => this.acks.drain()],
        [
          'leave the consumer group',
          () => runScript(this.redis, deleteConsumer1, [this.names.stream], [this.names.group, this.name]),
        ],
        ['close the reader connection', () => this.closeReader()],
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
    // The heartbeat keeps running until in-flight jobs are done, so a long job being
    // drained is not taken over by another consumer meanwhile.
    for (const timer of [this.claimTimer, this.promoteTimer]) clearTimeout(timer);
    this.slotFreed?.();
    this.wakeLoop?.();
    if (!this.loopDone) return;
    const exited = await Promise.race([this.loopDone.then(() => true), delay(0).then(() => false)]);
    if (exited) return;
    await this.unblockReader().catch((error) =>
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

  /** Ends the blocking XREADGROUP at once instead of waiting up to blockMs. */
  private async unblockReader(): Promise<void> {
    const list = String(await this.redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    for (const line of list.split('\n')) {
      if (!line.includes(` name=${this.readerName} `)) continue;
      const id = /(?:^|\s)id=(\d+)/.exec(line)?.[1];
      if (id) await this.redis.call('CLIENT', 'UNBLOCK', id);
    }
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
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

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    if (!reader) return;
    try {
      await Promise.race([
        reader.quit(),
        delay(UNBLOCK_GRACE_MS).then(() => Promise.reject(new Error('QUIT timed out'))),
      ]);
    } finally {
      reader.disconnect();
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
    else this.settleAfter(inFlight, this.malformed(id, parsed, deliveryCount));
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
      this.settleAfter(inFlight, this.exceeded(job, entry, span, ctx));
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
        this.failed(inFlight, job, entry, error, seconds, span, ctx).finally(() => span.end()),
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

  /**
   * Each delivery whose consumer stopped before settling counts as an attempt: a job that
   * crashes its consumers ends up here instead of crashing them forever.
   */
  private async exceeded(job: JobMessage, entry: JobEntry, span: Span, ctx: Context): Promise<void> {
    const error = new QueueError(
      'QUEUE_MAX_ATTEMPTS_EXCEEDED',
      `attempt ${job.attempt} exceeds maxAttempts ${this.o.maxAttempts}: delivered ${job.deliveryCount} times without being settled`,
    );
    recordFailure(span, error);
    try {
      await this.deadLetter(job, entry, 'max_attempts_exceeded', error, span, ctx);
    } finally {
      span.end();
    }
  }

  private async failed(
    inFlight: InFlight,
    job: JobMessage,
    entry: JobEntry,
    error: unknown,
    seconds: number,
    span: Span,
    ctx: Context,
  ): Promise<void> {
    recordFailure(span, error);
    if (inFlight.lost || inFlight.controller?.signal.aborted || this.closing.signal.aborted) {
      // Aborted by this consumer (entry taken over, or closing): not the job's fault. It stays
      // pending and whoever owns it now (or a consumer claiming it later) settles it.
      this.o.logger.warn(
        { job_id: job.jobId, entry_id: job.messageId, attempt: job.attempt, consumer: this.name },
        'job aborted; left pending for redelivery',
      );
      return;
    }
    // An error that says it can never succeed (e.g. the job does not exist) skips the retries.
    const retryable = (error as { retryable?: unknown } | null)?.retryable !== false;
    if (!retryable || job.attempt >= this.o.maxAttempts) {
      this.metrics.processingDuration.record(seconds, STATUS_DEAD_LETTERED);
      await this.deadLetter(job, entry, retryable ? 'handler_failed' : 'not_retryable', error, span, ctx);
      return;
    }
    this.metrics.processingDuration.record(seconds, STATUS_FAILED);
    const nextAttempt = job.attempt + 1;
    const delayMs = retryDelayMs(job.attempt, this.o.backoff);
    const { message, type } = describeError(error);
    span.addEvent(EVENT_RETRY_SCHEDULED, {
      [ATTR_ATTEMPT]: job.attempt,
      [ATTR_NEXT_ATTEMPT]: nextAttempt,
      [ATTR_RETRY_DELAY_MS]: delayMs,
      [ATTR_DELIVERY_COUNT]: job.deliveryCount,
      [ATTR_ERROR_TYPE]: type,
      [ATTR_ERROR_MESSAGE]: message,
    });
    // Hook first: if the process dies before the move, the entry is redelivered and the hook runs again.
    await this.hook(ctx, 'onRetry', job, error, nextAttempt);
    const due = Date.now() + delayMs;
    const member = JSON.stringify({ id: job.messageId, f: jobFields(entry, nextAttempt, due) });
    try {
      const moved = await runScript(
        this.redis,
        retry2,
        [this.names.stream, this.names.delayed],
        [this.names.group, this.name, job.messageId, due, member],
      );
      if (moved === 1) {
        this.metrics.jobs.add(1, STATUS_FAILED);
        this.metrics.retries.add(1);
        this.wakePromoter(due);
        this.o.logger.warn(
          {
            err: error,
            job_id: job.jobId,
            attempt: job.attempt,
            next_attempt: nextAttempt,
            delay_ms: delayMs,
          },
          'job attempt failed; retry scheduled',
        );
      } else {
        this.o.logger.warn(
          { job_id: job.jobId, entry_id: job.messageId, consumer: this.name },
          'failed entry was taken over by another consumer; leaving the retry to it',
        );
      }
    } catch (scriptError) {
      this.o.logger.error(
        { err: scriptError, job_id: job.jobId, entry_id: job.messageId },
        'could not schedule the retry; the entry stays pending and will be redelivered',
      );
    }
  }

  private async deadLetter(
    job: JobMessage,
    entry: JobEntry,
    reason: DeadLetterReason,
    error: unknown,
    span: Span,
    ctx: Context,
  ): Promise<void> {
    const { message, type } = describeError(error);
    span.addEvent(EVENT_DEAD_LETTERED, {
      [ATTR_DEAD_LETTER_REASON]: reason,
      [ATTR_ATTEMPT]: job.attempt,
      [ATTR_DELIVERY_COUNT]: job.deliveryCount,
      [ATTR_ERROR_TYPE]: type,
      [ATTR_ERROR_MESSAGE]: message,
    });
    // Hook first (job status in Postgres): a crash before the move means a redelivery, not a lost status.
    await this.hook(ctx, 'onDeadLetter', job, error);
    const fields = [
      ...jobFields(entry, job.attempt, entry.enqueuedAt),
      DLQ_FIELDS.reason,
      reason,
      DLQ_FIELDS.error,
      message,
      DLQ_FIELDS.errorType,
      type,
      ...this.dlqMeta(job.messageId, job.deliveryCount),
    ];
    if (await this.moveToDlq(job.messageId, fields)) {
      this.metrics.jobs.add(1, STATUS_DEAD_LETTERED);
      this.metrics.deadLetter.add(1);
      this.o.logger.error(
        { err: error, job_id: job.jobId, attempt: job.attempt, delivery_count: job.deliveryCount, reason },
        'job moved to the dead-letter stream',
      );
    }
  }

  private async malformed(
    id: string,
    parsed: ParsedEntry & { ok: false },
    deliveryCount: number,
  ): Promise<void> {
    const { span, ctx } = this.telemetry.startMalformed(parsed.carrier, id, deliveryCount);
    const error = new QueueError('QUEUE_MALFORMED_ENTRY', `malformed entry ${id}: ${parsed.reason}`);
    recordFailure(span, error);
    span.addEvent(EVENT_DEAD_LETTERED, {
      [ATTR_DEAD_LETTER_REASON]: 'malformed',
      [ATTR_DELIVERY_COUNT]: deliveryCount,
      [ATTR_ERROR_MESSAGE]: parsed.reason,
    });
    this.callOnMalformed(ctx, id, parsed.reason);
    let raw = JSON.stringify(parsed.carrier);
    if (raw.length > MAX_RAW_BYTES) raw = `${raw.slice(0, MAX_RAW_BYTES)}…`;
    const fields = [
      DLQ_FIELDS.reason,
      'malformed',
      DLQ_FIELDS.error,
      parsed.reason,
      DLQ_FIELDS.raw,
      raw,
      ...this.dlqMeta(id, deliveryCount),
    ];
    if (await this.moveToDlq(id, fields)) {
      this.metrics.deadLetter.add(1);
      this.o.logger.error(
        { entry_id: id, reason: parsed.reason },
        'malformed entry moved to the dead-letter stream',
      );
    }
    span.end();
  }

  private dlqMeta(id: string, deliveryCount: number): string[] {
    return [
      DLQ_FIELDS.sourceId,
      id,
      DLQ_FIELDS.deliveryCount,
      String(deliveryCount),
      DLQ_FIELDS.failedAt,
      String(Date.now()),
      DLQ_FIELDS.consumer,
      this.name,
    ];
  }

  private async moveToDlq(id: string, fields: string[]): Promise<boolean> {
    try {
      const moved = await runScript(
        this.redis,
        deadLetter2,
        [this.names.stream, this.names.dlq],
        [this.names.group, this.name, id, this.o.maxLen, ...fields],
      );
      if (moved === 0) {
        this.o.logger.warn(
          { entry_id: id, consumer: this.name },
          'entry was taken over by another consumer; not dead-lettered here',
        );
        return false;
      }
      return true;
    } catch (error) {
      this.o.logger.error(
        { err: error, entry_id: id },
        'could not move the entry to the dead-letter stream; it stays pending and will be redelivered',
      );
      return false;
    }
  }

  private async hook(
    ctx: Context,
    name: 'onRetry' | 'onDeadLetter',
    job: JobMessage,
    error: unknown,
    nextAttempt?: number,
  ): Promise<void> {
    const hooks = this.o.hooks;
    try {
      if (name === 'onRetry')
        await context.with(ctx, () => hooks.onRetry?.(job, error, nextAttempt as number));
      else await context.with(ctx, () => hooks.onDeadLetter?.(job, error));
    } catch (hookError) {
      this.o.logger.error({ err: hookError, hook: name, job_id: job.jobId }, 'queue hook failed');
    }
  }

  private callOnMalformed(ctx: Context, id: string, reason: string): void {
    try {
      context.with(ctx, () => this.o.hooks.onMalformed?.(id, reason));
    } catch (hookError) {
      this.o.logger.error({ err: hookError, hook: 'onMalformed', entry_id: id }, 'queue hook failed');
    }
  }

  // ------------------------------------------------------------- background work

  private track(task: () => Promise<void>): void {
    const promise = context.with(QUEUE_INTERNAL_CONTEXT, task);
    this.background.add(promise);
    promise.finally(() => this.background.delete(promise)).catch(() => undefined);
  }

  /** Takes over entries other consumers left idle for claimIdleMs (they died or hung). */
  private runClaim(): void {
    this.track(async () => {
      let more = false;
      try {
        more = await this.claimOnce();
        this.claimFailures.succeeded();
      } catch (error) {
        this.claimFailures.failed(error);
      }
      if (this.state !== 'running') return;
      const interval = Math.min(Math.max(Math.floor(this.o.claimIdleMs / 2), 10), 30_000);
      this.claimTimer = setTimeout(() => this.runClaim(), more ? 0 : interval);
      this.claimTimer.unref();
    });
  }

  private async claimOnce(): Promise<boolean> {
    const free = this.o.concurrency - this.jobs.size;
    if (free <= 0) return false;
    const count = Math.min(free, this.o.batchSize);
    const [cursor, entries, deleted, counts] = (await runScript(
      this.redis,
      claim1,
      [this.names.stream],
      [this.names.group, this.name, this.o.claimIdleMs, this.claimCursor, count],
    )) as ClaimReply;
    this.claimCursor = cursor;
    for (const id of deleted) {
      const reason = 'entry was trimmed from the stream (MAXLEN) before it was acknowledged';
      this.o.logger.error({ entry_id: id, stream: this.names.stream }, reason);
      this.callOnMalformed(ROOT_CONTEXT, id, reason);
    }
    entries.forEach(([id, fields], i) => {
      // Our own entry (still running, or waiting for its XACK): nothing to take over.
      if (this.jobs.has(id) || this.acks.has(id)) return;
      this.dispatch(id, fields, Number(counts[i] ?? 1));
    });
    return cursor !== '0-0' && entries.length + deleted.length >= count;
  }

  /** Moves due retries back onto the stream; sleeps until the next one is due (at most PROMOTE_POLL_MS). */
  private schedulePromote(delayMs: number): void {
    if (this.state !== 'running') return;
    clearTimeout(this.promoteTimer);
    this.promoteAt = Date.now() + delayMs;
    this.promoteTimer = setTimeout(() => {
      this.promoteAt = Number.POSITIVE_INFINITY;
      this.track(async () => {
        let next = PROMOTE_POLL_MS;
        try {
          const now = Date.now();
          const [moved, nextDue] = (await runScript(
            this.redis,
            promote3,
            [this.names.delayed, this.names.stream, this.names.dlq],
            [now, PROMOTE_BATCH, this.o.maxLen, this.o.maxLen],
          )) as [number, string];
          this.promoteFailures.succeeded();
          const due = Number(nextDue);
          if (moved >= PROMOTE_BATCH) next = 0;
          else if (due >= 0) next = Math.min(Math.max(due - Date.now(), 0), PROMOTE_POLL_MS);
        } catch (error) {
          next = reconnectDelayMs(this.promoteFailures.failed(error));
        }
        if (this.promoteAt === Number.POSITIVE_INFINITY) this.schedulePromote(next);
      });
    }, delayMs);
    this.promoteTimer.unref();
  }

  private wakePromoter(due: number): void {
    if (due < this.promoteAt) this.schedulePromote(Math.max(due - Date.now(), 0));
  }

  /** Resets the idle time of running jobs so a slow job is not taken over by another consumer. */
  private scheduleHeartbeat(): void {
    const interval = Math.max(Math.floor(this.o.claimIdleMs / 3), 5);
    this.heartbeatTimer = setTimeout(() => {
      this.track(async () => {
        try {
          await this.heartbeat();
          this.heartbeatFailures.succeeded();
        } catch (error) {
          this.heartbeatFailures.failed(error);
        }
        if (this.state === 'running' || (this.state === 'closing' && this.jobs.size > 0)) {
          this.scheduleHeartbeat();
        }
      });
    }, interval);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    const running: string[] = [];
    for (const job of this.jobs.values()) if (job.span && !job.lost) running.push(job.id);
    if (running.length === 0) return;
    const lost = (await runScript(
      this.redis,
      touch1,
      [this.names.stream],
      [this.names.group, this.name, ...running],
    )) as string[];
    for (const id of lost) {
      const job = this.jobs.get(id);
      if (!job?.span || job.lost) continue;
      job.lost = true;
      job.span.addEvent(EVENT_OWNERSHIP_LOST);
      this.o.logger.warn(
        { entry_id: id, consumer: this.name },
        'another consumer took this entry over (this one stalled past claimIdleMs); its result will not be retried here',
      );
      job.controller?.abort(new QueueError('QUEUE_ABORTED', 'entry was taken over by another consumer'));
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
