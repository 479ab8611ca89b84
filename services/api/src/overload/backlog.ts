import type { QueueNames, QueueShard } from '@media-cluster/queue';
import type { Redis } from 'ioredis';

/** One look at the queue, group-wide (every api replica and worker sees the same). */
export interface BacklogReading {
  /** Accepted jobs not finished: {@link pending} + {@link lag} + {@link delayed}. */
  backlog: number;
  /** Delivered to a worker, not acknowledged yet (XINFO GROUPS `pending`). */
  pending: number;
  /** In the stream, not delivered yet (XINFO GROUPS `lag`, or counted when Redis cannot tell). */
  lag: number;
  /** Failed attempts waiting for their retry (ZCARD of the delayed set). */
  delayed: number;
  /**
   * Entries acknowledged so far, over the stream's lifetime (`entries-read` −
   * `pending`): its growth is the drain rate. Undefined when Redis cannot tell.
   */
  acked: number | undefined;
}

/** What readBacklog needs of a client. */
export type BacklogRedis = Pick<Redis, 'xinfo' | 'zcard' | 'xlen' | 'xrange'>;

const isMissingKey = (error: unknown) => error instanceof Error && /no such key/i.test(error.message);

/** XINFO GROUPS' flat `[name, value, ...]` list of one group as a map. */
function fields(group: unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < group.length; i += 2) map.set(String(group[i]), group[i + 1]);
  return map;
}

const count = (value: unknown): number | undefined =>
  value === null || value === undefined || value === '' || !Number.isFinite(Number(value))
    ? undefined
    : Number(value);

/**
 * The queue's backlog from two O(1) commands per shard, XINFO GROUPS on its
 * stream and ZCARD on its delayed set (sent together, not as a MULTI), by the
 * queue's exported names, summed over the shards. A stream is never scanned,
 * except in the rare case Redis cannot compute `lag` (an entry XDELed after the
 * group's last delivered one): then the undelivered entries are counted, at most
 * `countLimit` of them.
 */
export async function readBacklog(
  redis: BacklogRedis,
  names: QueueNames,
  { countLimit = 100_000 }: { countLimit?: number } = {},
): Promise<BacklogReading> {
  const shards = await Promise.all(
    names.shards.map((shard) => readShardBacklog(redis, shard, names.group, countLimit)),
  );
  return shards.reduce((sum, s) => ({
    backlog: sum.backlog + s.backlog,
    pending: sum.pending + s.pending,
    lag: sum.lag + s.lag,
    delayed: sum.delayed + s.delayed,
    acked: sum.acked === undefined || s.acked === undefined ? undefined : sum.acked + s.acked,
  }));
}

async function readShardBacklog(
  redis: BacklogRedis,
  shard: QueueShard,
  groupName: string,
  countLimit: number,
): Promise<BacklogReading> {
  const [groups, delayed] = await Promise.all([
    redis.xinfo('GROUPS', shard.stream).catch((error: unknown) => {
      if (isMissingKey(error)) return null;
      throw error;
    }) as Promise<unknown[][] | null>,
    redis.zcard(shard.delayed),
  ]);
  if (groups === null) return { backlog: delayed, pending: 0, lag: 0, delayed, acked: undefined };
  const group = groups.map(fields).find((g) => g.get('name') === groupName);
  if (!group) {
    // No worker has created the group yet: it will start at the stream's first entry (id 0).
    const length = await redis.xlen(shard.stream);
    return { backlog: length + delayed, pending: 0, lag: length, delayed, acked: undefined };
  }
  const pending = count(group.get('pending')) ?? 0;
  let lag = count(group.get('lag'));
  if (lag === undefined) {
    const last = String(group.get('last-delivered-id') ?? '0-0');
    lag = (await redis.xrange(shard.stream, `(${last}`, '+', 'COUNT', countLimit)).length;
  }
  const read = count(group.get('entries-read'));
  return {
    backlog: pending + lag + delayed,
    pending,
    lag,
    delayed,
    acked: read === undefined ? undefined : read - pending,
  };
}
