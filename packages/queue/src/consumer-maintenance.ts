import { context } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { AckBatcher } from './ack-batcher.js';
import { reconnectDelayMs } from './backoff.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import type { ConsumerState, InFlight, StreamEntry } from './internal-types.js';
import type { QueueNames } from './keys.js';
import { FailureLog } from './logger.js';
import type { ResolvedConsumerOptions } from './options.js';
import { claim1, promote3, runScript, touch1 } from './scripts/index.js';
import { EVENT_OWNERSHIP_LOST } from './semconv.js';
import type { QueueLogger } from './types.js';

/** Check the delayed set at least this often, for retries scheduled by consumers that died since. */
const PROMOTE_POLL_MS = 1_000;
/** Due retries moved per script call. */
const PROMOTE_BATCH = 100;

type ClaimReply = [cursor: string, entries: StreamEntry[], deleted: string[], counts: number[]];

export interface ConsumerMaintenanceDeps {
  readonly redis: Redis;
  readonly names: QueueNames;
  /** This consumer's name in the group. */
  readonly consumer: string;
  readonly options: Pick<ResolvedConsumerOptions, 'concurrency' | 'batchSize' | 'claimIdleMs' | 'maxLen'>;
  readonly logger: QueueLogger;
  /** The consumer's in-flight jobs (read for free slots; the heartbeat marks lost ones). */
  readonly jobs: ReadonlyMap<string, InFlight>;
  /** Entries finished here and waiting for their XACK. */
  readonly acks: Pick<AckBatcher, 'has'>;
  readonly state: () => ConsumerState;
  /** Runs a claimed entry like a read one. */
  readonly dispatch: (id: string, fields: string[] | null, deliveryCount: number) => void;
  /** A claimed pending entry that was already trimmed from the stream. */
  readonly onTrimmed: (id: string) => void;
}

/**
 * A consumer's background loops, each on its own unref'd timer: takeover of
 * entries other consumers left idle (claim-1), promotion of due retries from
 * the delayed set (promote-3) and the heartbeat of running jobs (touch-1).
 * Each backs off and logs through its own {@link FailureLog} when Redis fails.
 */
export class ConsumerMaintenance {
  private readonly redis: Redis;
  private readonly names: QueueNames;
  private readonly name: string;
  private readonly o: ConsumerMaintenanceDeps['options'];
  private readonly jobs: ReadonlyMap<string, InFlight>;
  private readonly background = new Set<Promise<unknown>>();
  private claimTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoteAt = Number.POSITIVE_INFINITY;
  private claimCursor = '0-0';
  private readonly claimFailures: FailureLog;
  private readonly promoteFailures: FailureLog;
  private readonly heartbeatFailures: FailureLog;

  constructor(private readonly deps: ConsumerMaintenanceDeps) {
    this.redis = deps.redis;
    this.names = deps.names;
    this.name = deps.consumer;
    this.o = deps.options;
    this.jobs = deps.jobs;
    const fields = { stream: deps.names.stream, group: deps.names.group, consumer: deps.consumer };
    this.claimFailures = new FailureLog(deps.logger, 'claiming stalled entries', fields);
    this.promoteFailures = new FailureLog(deps.logger, 'promoting due retries', fields);
    this.heartbeatFailures = new FailureLog(deps.logger, 'heartbeat of running jobs', fields);
  }

  /** Starts the three loops (claiming and promoting at once). Call once the state is 'running'. */
  start(): void {
    this.runClaim();
    this.schedulePromote(0);
    this.scheduleHeartbeat();
  }

  /**
   * Stops claiming and promoting. The heartbeat keeps running until in-flight jobs are
   * done, so a long job being drained is not taken over by another consumer meanwhile.
   */
  stopClaimAndPromote(): void {
    for (const timer of [this.claimTimer, this.promoteTimer]) clearTimeout(timer);
  }

  stopHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
  }

  /** Waits for every loop iteration already running. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** A retry was scheduled for `due` (epoch ms): promote it then, if sooner than planned. */
  wakePromoter(due: number): void {
    if (due < this.promoteAt) this.schedulePromote(Math.max(due - Date.now(), 0));
  }

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
      if (this.deps.state() !== 'running') return;
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
    for (const id of deleted) this.deps.onTrimmed(id);
    entries.forEach(([id, fields], i) => {
      // Our own entry (still running, or waiting for its XACK): nothing to take over.
      if (this.jobs.has(id) || this.deps.acks.has(id)) return;
      this.deps.dispatch(id, fields, Number(counts[i] ?? 1));
    });
    return cursor !== '0-0' && entries.length + deleted.length >= count;
  }

  /** Moves due retries back onto the stream; sleeps until the next one is due (at most PROMOTE_POLL_MS). */
  private schedulePromote(delayMs: number): void {
    if (this.deps.state() !== 'running') return;
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
        const state = this.deps.state();
        if (state === 'running' || (state === 'closing' && this.jobs.size > 0)) {
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
      this.deps.logger.warn(
        { entry_id: id, consumer: this.name },
        'another consumer took this entry over (this one stalled past claimIdleMs); its result will not be retried here',
      );
    }
  }
}
