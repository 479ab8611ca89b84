import type { Cluster, Redis } from 'ioredis';
import { slotOf } from './keys.js';
import { FailureLog } from './logger.js';
import type { QueueLogger, RedisClient } from './types.js';

/** Give XREADGROUP this long to return after CLIENT UNBLOCK before dropping the reader connection. */
export const UNBLOCK_GRACE_MS = 1_000;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/**
 * The connection commands on `tag`'s keys use: the client itself, or on a Cluster
 * the connection to the master of the tag's slot (undefined while the slot map
 * has no master for it).
 */
export function connectionOf(redis: RedisClient, tag: string): Redis | undefined {
  if (!isCluster(redis)) return redis;
  const key = redis.slots[slotOf(tag)]?.[0];
  return redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === key);
}

/** CLIENT SETNAME of a consumer's reader: printable, no spaces, so CLIENT LIST can find it. */
export function readerConnectionName(consumer: string, shard: number, shards: number): string {
  const name = shards === 1 ? `mcq-reader-${consumer}` : `mcq-reader-${consumer}-s${shard}`;
  return name.replace(/[^\x21-\x7e]/g, '_');
}

/**
 * The dedicated client for one blocking XREADGROUP loop (a blocked connection
 * serves nothing else); on Redis Cluster a `Cluster` of its own, whose
 * connection to the shard's master blocks. Errors go through a {@link FailureLog}.
 */
export function openReader(
  redis: RedisClient,
  connectionName: string,
  logger: QueueLogger,
  consumer: string,
): RedisClient {
  const reader: RedisClient = isCluster(redis)
    ? redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, connectionName } })
    : redis.duplicate({ connectionName });
  const readerErrors = new FailureLog(logger, 'reader connection', { consumer });
  reader.on('error', (error) => readerErrors.failed(error));
  reader.on('ready', () => readerErrors.succeeded());
  return reader;
}

/** Ends the blocking XREADGROUP at once instead of waiting up to blockMs (on every master for a Cluster). */
export async function unblockReader(redis: RedisClient, connectionName: string): Promise<void> {
  const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
  await Promise.all(
    nodes.map(async (node) => {
      const list = String(await node.call('CLIENT', 'LIST', 'TYPE', 'normal'));
      for (const line of list.split('\n')) {
        if (!line.includes(` name=${connectionName} `)) continue;
        const id = /(?:^|\s)id=(\d+)/.exec(line)?.[1];
        if (id) await node.call('CLIENT', 'UNBLOCK', id);
      }
    }),
  );
}

/** QUIT, bounded by {@link UNBLOCK_GRACE_MS}; the connection is dropped either way. */
export async function closeReader(reader: RedisClient): Promise<void> {
  try {
    await Promise.race([
      reader.quit(),
      delay(UNBLOCK_GRACE_MS).then(() => Promise.reject(new Error('QUIT timed out'))),
    ]);
  } finally {
    reader.disconnect();
  }
}

/** A timer that does not keep the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
