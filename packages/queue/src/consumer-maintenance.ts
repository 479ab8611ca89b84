import { context } from '@opentelemetry/api';
import type { AckBatcher } from './ack-batcher.js';
import { reconnectDelayMs } from './backoff.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import { type ConsumerState, inFlightKey, type StreamEntry } from './internal-types.js';
import type { JobSlots } from './job-slots.js';
import type { QueueNames, QueueShard } from './keys.js';
import { FailureLog } from './logger.js';
import type { ResolvedConsumerOptions } from './options.js';
import { claim1, promote3, runScript, touch1 } from './scripts/index.js';
import { EVENT_OWNERSHIP_LOST } from './semconv.js';
import type { QueueLogger, RedisClient } from './types.js';

/** Check the delayed sets at least this often, for retries scheduled by consumers that died since. */
const PROMOTE_POLL_MS = 1_000;
/** Due retries moved per script call. */
const PROMOTE_BATCH = 100;

type ClaimReply = [cursor: string, entries: StreamEntry[], deleted: string[], counts: number[]];

export interface ConsumerMaintenanceDeps {
  readonly redis: RedisClient;
  readonly names: QueueNames;
  /** This consumer's name in the group. */
  readonly consumer: string;
  readonly options: Pick<ResolvedConsumerOptions, 'batchSize' | 'claimIdleMs' | 'maxLen'>;
  readonly logger: QueueLogger;
  /** The consumer's in-flight and held jobs (free slots; the heartbeat marks lost ones). */
  readonly slots: JobSlots;
  /** Per shard: entries finished here and waiting for their XACK. */
  readonly acks: readonly Pick<AckBatcher, 'has'>[];
  readonly state: () => ConsumerState;
  /** A claimed pending entry that was already trimmed from its stream. */
  readonly onTrimmed: (shard: QueueShard, id: string) => void;
}

/**
 * A consumer's background loops, each on its own unref'd timer and each over
 * every shard: takeover of entries other consumers left idle (claim-1),
 * promotion of due retries from the delayed sets (promote-3) and the heartbeat
 * of running and held jobs (touch-1). Each backs off and logs through its own
 * {@link FailureLog} when Redis fails.
 */
export class ConsumerMaintenance {
  private readonly redis: RedisClient;
  private readonly names: QueueNames;
  private readonly name: string;
  private readonly o: ConsumerMaintenanceDeps['options'];
  private readonly slots: JobSlots;
  private readonly background = new Set<Promise<unknown>>();
  private claimTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoteAt = Number.POSITIVE_INFINITY;
  private readonly claimCursors: string[];
  private readonly claimFailures: FailureLog;
  private readonly promoteFailures: FailureLog;
  private readonly heartbeatFailures: FailureLog;

  constructor(private readonly deps: ConsumerMaintenanceDeps) {
    this.redis = deps.redis;
    this.names = deps.names;
    this.name = deps.consumer;
    this.o = deps.options;
    this.slots = deps.slots;
    this.claimCursors = deps.names.shards.map(() => '0-0');
    const fields = { queue: deps.names.destination, group: deps.names.group, consumer: deps.consumer };
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
        for (const shard of this.names.shards) more = (await this.claimOnce(shard)) || more;
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

  private async claimOnce(shard: QueueShard): Promise<boolean> {
    const free = this.slots.free();
    if (free <= 0) return false;
    const count = Math.min(free, this.o.batchSize);
    const [cursor, entries, deleted, counts] = (await runScript(
      this.redis,
      claim1,
      [shard.stream],
      [this.names.group, this.name, this.o.claimIdleMs, this.claimCursors[shard.index] as string, count],
    )) as ClaimReply;
    this.claimCursors[shard.index] = cursor;
    for (const id of deleted) this.deps.onTrimmed(shard, id);
    entries.forEach(([id, fields], i) => {
      // Our own entry (running, held, or waiting for its XACK): nothing to take over.
      if (this.slots.has(shard.index, id) || this.deps.acks[shard.index]?.has(id)) return;
      this.slots.deliver({ shard: shard.index, id, fields, deliveryCount: Number(counts[i] ?? 1) });
    });
    return cursor !== '0-0' && entries.length + deleted.length >= count;
  }

  /** Moves due retries back onto the streams; sleeps until the next one is due (at most PROMOTE_POLL_MS). */
  private schedulePromote(delayMs: number): void {
    if (this.deps.state() !== 'running') return;
    clearTimeout(this.promoteTimer);
    this.promoteAt = Date.now() + delayMs;
    this.promoteTimer = setTimeout(() => {
      this.promoteAt = Number.POSITIVE_INFINITY;
      this.track(async () => {
        let next = PROMOTE_POLL_MS;
        try {
          for (const shard of this.names.shards) next = Math.min(next, await this.promoteOnce(shard));
          this.promoteFailures.succeeded();
        } catch (error) {
          next = reconnectDelayMs(this.promoteFailures.failed(error));
        }
        if (this.promoteAt === Number.POSITIVE_INFINITY) this.schedulePromote(next);
      });
    }, delayMs);
    this.promoteTimer.unref();
  }

  /** One promote-3 on one shard; returns when to look again (ms). */
  private async promoteOnce(shard: QueueShard): Promise<number> {
    const [moved, nextDue] = (await runScript(
      this.redis,
      promote3,
      [shard.delayed, shard.stream, shard.dlq],
      [Date.now(), PROMOTE_BATCH, this.o.maxLen, this.o.maxLen],
    )) as [number, string];
    const due = Number(nextDue);
    if (moved >= PROMOTE_BATCH) return 0;
    if (due >= 0) return Math.min(Math.max(due - Date.now(), 0), PROMOTE_POLL_MS);
    return PROMOTE_POLL_MS;
  }

  /** Resets the idle time of running and held jobs so a slow job is not taken over by another consumer. */
  private scheduleHeartbeat(): void {
    const interval = Math.max(Math.floor(this.o.claimIdleMs / 3), 5);
    this.heartbeatTimer = setTimeout(() => {
      this.track(async () => {
        try {
          await Promise.all(this.names.shards.map((shard) => this.heartbeat(shard)));
          this.heartbeatFailures.succeeded();
        } catch (error) {
          this.heartbeatFailures.failed(error);
        }
        const state = this.deps.state();
        if (state === 'running' || (state === 'closing' && this.slots.size > 0)) {
          this.scheduleHeartbeat();
        }
      });
    }, interval);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(shard: QueueShard): Promise<void> {
    const ids: string[] = [];
    for (const job of this.slots.jobs.values()) {
      if (job.shard === shard.index && job.span && !job.lost) ids.push(job.id);
    }
    for (const held of this.slots.held) if (held.shard === shard.index) ids.push(held.id);
    if (ids.length === 0) return;
    const lost = (await runScript(
      this.redis,
      touch1,
      [shard.stream],
      [this.names.group, this.name, ...ids],
    )) as string[];
    for (const id of lost) {
      // Not started yet: the new owner runs it.
      if (this.slots.dropHeld(shard.index, id)) continue;
      const job = this.slots.jobs.get(inFlightKey(shard.index, id));
      if (!job?.span || job.lost) continue;
      job.lost = true;
      job.span.addEvent(EVENT_OWNERSHIP_LOST);
      this.deps.logger.warn(
        { entry_id: id, stream: shard.stream, consumer: this.name },
        'another consumer took this entry over (this one stalled past claimIdleMs); its result will not be retried here',
      );
    }
  }
}
