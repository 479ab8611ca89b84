import { context } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { QueueError } from './errors.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import type { QueueStats } from './types.js';

/** XINFO GROUPS of `stream`, reduced to `group`'s pending count and lag. */
export async function groupStats(redis: Redis, stream: string, group: string): Promise<QueueStats> {
  const groups = (await context.with(QUEUE_INTERNAL_CONTEXT, () =>
    redis.xinfo('GROUPS', stream),
  )) as unknown[][];
  for (const entry of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
    if (info.get('name') !== group) continue;
    const lag = info.get('lag');
    return {
      pending: Number(info.get('pending') ?? 0),
      lag: lag === null || lag === undefined ? Number.NaN : Number(lag),
    };
  }
  throw new QueueError('QUEUE_GROUP_MISSING', `consumer group ${group} does not exist`);
}

/** Creates the group from id 0 with MKSTREAM; an existing group is fine. */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    // From '0', not '$': jobs enqueued before the first worker started are not skipped.
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}
