import { type Context, context, type Span } from '@opentelemetry/api';
import { retryDelayMs } from './backoff.js';
import { type ConsumerTelemetry, recordFailure } from './consumer-telemetry.js';
import { isRetryable, QueueError } from './errors.js';
import { type DeadLetterReason, DLQ_FIELDS } from './fields.js';
import { type JobEntry, jobFields, type ParsedEntry } from './job-entry.js';
import type { QueueNames, QueueShard } from './keys.js';
import { describeError } from './logger.js';
import { type ConsumerMetrics, STATUS_DEAD_LETTERED, STATUS_FAILED } from './metrics.js';
import type { ResolvedConsumerOptions } from './options.js';
import { deadLetter2, retry2, runScript } from './scripts/index.js';
import {
  ATTR_ATTEMPT,
  ATTR_DEAD_LETTER_REASON,
  ATTR_DELIVERY_COUNT,
  ATTR_ERROR_MESSAGE,
  ATTR_ERROR_TYPE,
  ATTR_NEXT_ATTEMPT,
  ATTR_RETRY_DELAY_MS,
  EVENT_DEAD_LETTERED,
  EVENT_RETRY_SCHEDULED,
} from './semconv.js';
import type { JobMessage, QueueLogger, RedisClient } from './types.js';

/** A malformed entry's fields are kept in the DLQ up to this size. */
const MAX_RAW_BYTES = 8_192;

export interface ConsumerFailuresDeps {
  readonly redis: RedisClient;
  readonly names: QueueNames;
  /** This consumer's name in the group. */
  readonly consumer: string;
  readonly options: Pick<ResolvedConsumerOptions, 'maxAttempts' | 'backoff' | 'maxLen' | 'hooks'>;
  readonly telemetry: ConsumerTelemetry;
  readonly metrics: ConsumerMetrics;
  readonly logger: QueueLogger;
  /** Called with the due time (epoch ms) of each retry put into the delayed set. */
  readonly wakePromoter: (due: number) => void;
}

/**
 * The failure paths of a consumer: a retry into the delayed set, dead-lettering
 * (attempts used up, not retryable, delivered too often, malformed) and the
 * user hooks around them. Hooks run before the Redis move, so a crash in
 * between means a redelivery, never a lost status; their errors are logged.
 * Nothing here throws: a failed move leaves the entry pending for redelivery.
 */
export class ConsumerFailures {
  private readonly redis: RedisClient;
  private readonly names: QueueNames;
  private readonly name: string;
  private readonly o: ConsumerFailuresDeps['options'];
  private readonly logger: QueueLogger;

  constructor(private readonly deps: ConsumerFailuresDeps) {
    this.redis = deps.redis;
    this.names = deps.names;
    this.name = deps.consumer;
    this.o = deps.options;
    this.logger = deps.logger;
  }

  /**
   * Each delivery whose consumer stopped before settling counts as an attempt: a job that
   * crashes its consumers ends up here instead of crashing them forever.
   */
  async exceeded(job: JobMessage, entry: JobEntry, span: Span, ctx: Context): Promise<void> {
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

  /**
   * The handler failed after `seconds`. `lost`: another consumer took the entry over
   * meanwhile, so the failure is left to it.
   */
  async failed(
    job: JobMessage,
    entry: JobEntry,
    error: unknown,
    seconds: number,
    span: Span,
    ctx: Context,
    lost: boolean,
  ): Promise<void> {
    recordFailure(span, error);
    if (lost) {
      this.logger.warn(
        { job_id: job.jobId, entry_id: job.messageId, attempt: job.attempt, consumer: this.name },
        'job failed after another consumer took it over; its failure is left to that consumer',
      );
      return;
    }
    // A JobError that says it can never succeed (e.g. the job does not exist) skips the retries.
    const retryable = isRetryable(error);
    if (!retryable || job.attempt >= this.o.maxAttempts) {
      this.deps.metrics.processingDuration.record(seconds, STATUS_DEAD_LETTERED);
      await this.deadLetter(job, entry, retryable ? 'handler_failed' : 'not_retryable', error, span, ctx);
      return;
    }
    this.deps.metrics.processingDuration.record(seconds, STATUS_FAILED);
    await this.scheduleRetry(job, entry, error, span, ctx);
  }

  private async scheduleRetry(
    job: JobMessage,
    entry: JobEntry,
    error: unknown,
    span: Span,
    ctx: Context,
  ): Promise<void> {
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
    const shard = this.shard(job.shard);
    try {
      const moved = await runScript(
        this.redis,
        retry2,
        [shard.stream, shard.delayed],
        [this.names.group, this.name, job.messageId, due, member],
      );
      if (moved === 1) {
        this.deps.metrics.jobs.add(1, STATUS_FAILED);
        this.deps.metrics.retries.add(1);
        this.deps.wakePromoter(due);
        this.logger.warn(
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
        this.logger.warn(
          { job_id: job.jobId, entry_id: job.messageId, consumer: this.name },
          'failed entry was taken over by another consumer; leaving the retry to it',
        );
      }
    } catch (scriptError) {
      this.logger.error(
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
    if (await this.moveToDlq(this.shard(job.shard), job.messageId, fields)) {
      this.deps.metrics.jobs.add(1, STATUS_DEAD_LETTERED);
      this.deps.metrics.deadLetter.add(1);
      this.logger.error(
        { err: error, job_id: job.jobId, attempt: job.attempt, delivery_count: job.deliveryCount, reason },
        'job moved to the dead-letter stream',
      );
    }
  }

  /** An entry without valid job fields: to the DLQ with its raw fields, no retries. */
  async malformed(
    shard: QueueShard,
    id: string,
    parsed: ParsedEntry & { ok: false },
    deliveryCount: number,
  ): Promise<void> {
    const { span } = this.deps.telemetry.startMalformed(parsed.carrier, id, shard.index, deliveryCount);
    const error = new QueueError('QUEUE_MALFORMED_ENTRY', `malformed entry ${id}: ${parsed.reason}`);
    recordFailure(span, error);
    span.addEvent(EVENT_DEAD_LETTERED, {
      [ATTR_DEAD_LETTER_REASON]: 'malformed',
      [ATTR_DELIVERY_COUNT]: deliveryCount,
      [ATTR_ERROR_MESSAGE]: parsed.reason,
    });
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
    if (await this.moveToDlq(shard, id, fields)) {
      this.deps.metrics.deadLetter.add(1);
      this.logger.error(
        { entry_id: id, reason: parsed.reason },
        'malformed entry moved to the dead-letter stream',
      );
    }
    span.end();
  }

  /** A pending entry that XAUTOCLAIM found deleted: its job is gone, only the id is left to report. */
  trimmed(shard: QueueShard, id: string): void {
    this.logger.error(
      { entry_id: id, stream: shard.stream },
      'entry was trimmed from the stream (MAXLEN) before it was acknowledged',
    );
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

  private shard(index: number): QueueShard {
    return this.names.shards[index] as QueueShard;
  }

  private async moveToDlq(shard: QueueShard, id: string, fields: string[]): Promise<boolean> {
    try {
      const moved = await runScript(
        this.redis,
        deadLetter2,
        [shard.stream, shard.dlq],
        [this.names.group, this.name, id, this.o.maxLen, ...fields],
      );
      if (moved === 0) {
        this.logger.warn(
          { entry_id: id, consumer: this.name },
          'entry was taken over by another consumer; not dead-lettered here',
        );
        return false;
      }
      return true;
    } catch (error) {
      this.logger.error(
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
      this.logger.error({ err: hookError, hook: name, job_id: job.jobId }, 'queue hook failed');
    }
  }
}
