import { context } from '@opentelemetry/api';
import { QueueError } from './errors.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import type { QueueNames } from './keys.js';
import { groupCreate1, groupInfo1, runScript } from './scripts/index.js';
import type { QueueStats, RedisClient } from './types.js';

/** The group's pending count and lag, summed over the shards (XINFO GROUPS of each stream). */
export async function groupStats(redis: RedisClient, names: QueueNames): Promise<QueueStats> {
  const replies = await context.with(QUEUE_INTERNAL_CONTEXT, () =>
    Promise.all(
      names.shards.map(
        (shard) => runScript(redis, groupInfo1, [shard.stream], [names.group]) as Promise<number[] | null>,
      ),
    ),
  );
  let pending = 0;
  let lag = 0;
  for (const [i, reply] of replies.entries()) {
    if (!reply) {
      throw new QueueError(
        'QUEUE_GROUP_MISSING',
        `consumer group ${names.group} does not exist on ${names.shards[i]?.stream}`,
      );
    }
    pending += Number(reply[0]);
    lag = reply[1] === -1 || Number.isNaN(lag) ? Number.NaN : lag + Number(reply[1]);
  }
  return { pending, lag };
}

/** Creates the group on `stream` from id 0 with MKSTREAM; an existing group is fine. */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  await runScript(redis, groupCreate1, [stream], [group]);
}
