import { reconnectDelayMs } from './backoff.js';
import type { ConsumerState, StreamEntry } from './internal-types.js';
import type { JobSlots } from './job-slots.js';
import type { QueueShard } from './keys.js';
import { FailureLog } from './logger.js';
import {
  closeReader,
  delay,
  openReader,
  readerConnectionName,
  UNBLOCK_GRACE_MS,
  unblockReader,
} from './reader-connection.js';
import type { QueueLogger, RedisClient } from './types.js';

type ReadReply = [stream: string, entries: StreamEntry[]][] | null;

export interface ConsumerReaderDeps {
  readonly redis: RedisClient;
  readonly shard: QueueShard;
  /** How many shards the consumer reads (names its connection). */
  readonly shards: number;
  readonly group: string;
  /** This consumer's name in the group. */
  readonly consumer: string;
  readonly blockMs: number;
  readonly batchSize: number;
  readonly logger: QueueLogger;
  readonly state: () => ConsumerState;
  readonly slots: Pick<JobSlots, 'reserveRead' | 'readDone' | 'waitForSlot' | 'deliver'>;
  /** Re-creates the group after NOGROUP (stream or group deleted at runtime). */
  readonly ensureGroup: () => Promise<void>;
}

/**
 * The blocking XREADGROUP loop of one shard's stream, on a dedicated connection
 * (`redis.duplicate()`), reading only as many entries as {@link JobSlots} allows.
 */
export class ConsumerReader {
  private readonly d: ConsumerReaderDeps;
  private readonly connectionName: string;
  private readonly failures: FailureLog;
  private reader: RedisClient | undefined;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(deps: ConsumerReaderDeps) {
    this.d = deps;
    this.connectionName = readerConnectionName(deps.consumer, deps.shard.index, deps.shards);
    const fields = { stream: deps.shard.stream, group: deps.group, consumer: deps.consumer };
    this.failures = new FailureLog(deps.logger, 'XREADGROUP', fields);
  }

  /** Opens the connection and starts reading; call once the consumer state is 'running'. */
  start(): void {
    this.reader = openReader(this.d.redis, this.connectionName, this.d.logger, this.d.consumer);
    this.loopDone = this.loop(this.reader);
  }

  /**
   * Ends the loop: at once when it is not blocked in Redis, else by CLIENT UNBLOCK, else
   * (after a grace period) by dropping the connection. Entries Redis delivered into a
   * dropped reply stay pending and are claimed after claimIdleMs.
   */
  async stop(): Promise<void> {
    this.wake?.();
    if (!this.loopDone) return;
    const exited = await Promise.race([this.loopDone.then(() => true), delay(0).then(() => false)]);
    if (exited) return;
    await unblockReader(this.d.redis, this.connectionName).catch((error) =>
      this.d.logger.warn(
        { err: error, consumer: this.d.consumer },
        'CLIENT UNBLOCK failed; dropping the reader connection',
      ),
    );
    const done = await Promise.race([
      this.loopDone.then(() => true),
      delay(UNBLOCK_GRACE_MS).then(() => false),
    ]);
    if (!done) {
      this.reader?.disconnect();
      await this.loopDone;
    }
  }

  async close(): Promise<void> {
    if (this.reader) await closeReader(this.reader);
  }

  private async loop(reader: RedisClient): Promise<void> {
    const { group, consumer, batchSize, blockMs, slots } = this.d;
    const { stream, index: shard } = this.d.shard;
    while (this.d.state() === 'running') {
      const count = slots.reserveRead(batchSize);
      if (count === 0) {
        await slots.waitForSlot();
        continue;
      }
      let reply: ReadReply;
      try {
        reply = (await reader.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          blockMs,
          'STREAMS',
          stream,
          '>',
        )) as ReadReply;
      } catch (error) {
        slots.readDone(count, 0);
        if (this.d.state() !== 'running') break;
        const failures = this.failures.failed(error);
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          await this.d.ensureGroup().catch(() => undefined);
        }
        await this.pause(reconnectDelayMs(failures));
        continue;
      }
      this.failures.succeeded();
      // Deliver even when closing: these entries are already in this consumer's pending list.
      const entries = reply?.[0]?.[1];
      slots.readDone(count, entries?.length ?? 0);
      if (entries) for (const [id, fields] of entries) slots.deliver({ shard, id, fields, deliveryCount: 1 });
    }
  }

  /** A backoff pause that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
