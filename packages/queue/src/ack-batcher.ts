import { context } from '@opentelemetry/api';
import { reconnectDelayMs } from './backoff.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import { FailureLog } from './logger.js';
import type { QueueLogger, RedisClient } from './types.js';

/** Acks per XACK; a bigger backlog is split. */
const MAX_BATCH = 500;
/** close() retries a failing XACK this many times before leaving the entries pending (they are redelivered). */
const DRAIN_ATTEMPTS = 5;

/**
 * Collects the ids of finished jobs and acknowledges them with one XACK per
 * event-loop turn, so a batch of N jobs costs one round trip, not N. Failed
 * XACKs (Redis away) are kept and retried with backoff; until then the
 * entries simply stay pending, which at worst means a redelivery.
 */
export class AckBatcher {
  private buffer: string[] = [];
  private scheduled = false;
  private readonly sending = new Set<string[]>();
  private readonly sends = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly failures: FailureLog;
  private consecutiveFailures = 0;
  private readonly flushNow = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly stream: string,
    private readonly group: string,
    logger: QueueLogger,
  ) {
    this.failures = new FailureLog(logger, 'XACK', { stream });
  }

  add(id: string): void {
    this.buffer.push(id);
    if (this.buffer.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** True while `id` waits to be (or is being) acknowledged. */
  has(id: string): boolean {
    if (this.buffer.includes(id)) return true;
    for (const batch of this.sending) if (batch.includes(id)) return true;
    return false;
  }

  get size(): number {
    let n = this.buffer.length;
    for (const batch of this.sending) n += batch.length;
    return n;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const ids = this.buffer;
    this.buffer = [];
    this.sending.add(ids);
    const send = context
      .with(QUEUE_INTERNAL_CONTEXT, () => this.redis.xack(this.stream, this.group, ...ids))
      .then(
        () => {
          this.sending.delete(ids);
          this.consecutiveFailures = 0;
          this.failures.succeeded();
        },
        (error: unknown) => {
          this.sending.delete(ids);
          // Put them back at the front and retry after a backoff.
          this.buffer = ids.concat(this.buffer);
          this.consecutiveFailures = this.failures.failed(error);
          this.scheduleRetry();
        },
      )
      .finally(() => this.sends.delete(send));
    this.sends.add(send);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, reconnectDelayMs(this.consecutiveFailures));
    this.retryTimer.unref();
  }

  /** Sends everything buffered and waits for it; retries a few times when Redis fails. */
  async drain(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.flush();
      while (this.sends.size > 0) await Promise.all([...this.sends]);
      if (this.buffer.length === 0) return;
      if (attempt >= DRAIN_ATTEMPTS) {
        throw new Error(`${this.buffer.length} acks could not be sent; those entries will be redelivered`);
      }
      await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(attempt)));
    }
  }
}
