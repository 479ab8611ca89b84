/**
 * Every Redis key and stream name the queue touches is built here, so a
 * deployment can move the whole queue under another prefix in one place.
 *
 * Every key of one shard carries the shard's hash tag (`{...}`), so on Redis
 * Cluster they share one slot and the multi-key Lua scripts (stream + delayed
 * set + DLQ) stay legal. With several shards each has its own tag, chosen so
 * the shards' slots are spread over the slot space (see {@link shardTags}).
 */
export interface QueueShard {
  /** 0-based. */
  readonly index: number;
  /** Hash tag of every key below (without braces), e.g. `media-cluster`. */
  readonly tag: string;
  /** The job stream, e.g. `{media-cluster}:jobs`. */
  readonly stream: string;
  /** The dead-letter stream, e.g. `{media-cluster}:jobs:dlq`. */
  readonly dlq: string;
  /** Sorted set of retries waiting for their backoff (score = due time, epoch ms), e.g. `{media-cluster}:jobs:delayed`. */
  readonly delayed: string;
}

export interface QueueNames {
  readonly prefix: string;
  /**
   * The queue's name as telemetry shows it (`<prefix>:jobs`): span names `send …` /
   * `process …` and `messaging.destination.name`, whatever the shards' key names.
   */
  readonly destination: string;
  /** The consumer group on every shard's stream, e.g. `media-cluster-workers`. */
  readonly group: string;
  /** One or more shards; a job goes to one of them by its partition key. */
  readonly shards: readonly QueueShard[];
}

/** The default prefix of every queue name. */
export const DEFAULT_QUEUE_PREFIX = 'media-cluster';

/** Redis Cluster's slot count. */
export const CLUSTER_SLOTS = 16_384;

/** Most shards a queue may have (each is a reader connection per consumer). */
export const MAX_SHARDS = 64;

// CRC16/XMODEM, the hash Redis Cluster uses for key slots.
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc;
}

/** The cluster slot of a hash tag's keys. */
export function slotOf(tag: string): number {
  return crc16(tag) % CLUSTER_SLOTS;
}

/**
 * Hash tags of `count` shards. One shard: the prefix itself. Several: shard i's tag
 * is `<prefix>:<i>` (or `<prefix>:<i>.<k>` for the first k that fits) with its slot in
 * the i-th `1/count` of the slot space, so on a cluster whose slots are split evenly
 * (what `redis-cli --cluster create` does) `count` shards on `count` masters land on
 * different masters. Deterministic: every producer and consumer computes the same tags.
 */
export function shardTags(prefix: string, count: number): string[] {
  if (count === 1) return [prefix];
  return Array.from({ length: count }, (_, i) => {
    const from = Math.floor((i * CLUSTER_SLOTS) / count);
    const to = Math.floor(((i + 1) * CLUSTER_SLOTS) / count);
    for (let k = 0; ; k++) {
      const tag = k === 0 ? `${prefix}:${i}` : `${prefix}:${i}.${k}`;
      const slot = slotOf(tag);
      if (slot >= from && slot < to) return tag;
    }
  });
}

/**
 * Builds the queue's Redis names from one prefix.
 *
 * @param prefix - @defaultValue `'media-cluster'`
 * @param options.shards - streams to spread jobs over. @defaultValue 1
 */
export function queueNames(
  prefix: string = DEFAULT_QUEUE_PREFIX,
  options: { shards?: number } = {},
): QueueNames {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[\s{}]/.test(prefix)) {
    throw new TypeError(
      `queueNames: prefix must be a non-empty string without spaces or braces (got ${JSON.stringify(prefix)})`,
    );
  }
  const count = options.shards ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new TypeError(`queueNames: shards must be an integer from 1 to ${MAX_SHARDS} (got ${count})`);
  }
  const shards = shardTags(prefix, count).map((tag, index) =>
    Object.freeze({
      index,
      tag,
      stream: `{${tag}}:jobs`,
      dlq: `{${tag}}:jobs:dlq`,
      delayed: `{${tag}}:jobs:delayed`,
    }),
  );
  return Object.freeze({
    prefix,
    destination: `${prefix}:jobs`,
    group: `${prefix}-workers`,
    shards: Object.freeze(shards),
  });
}

/** Key names of the queue before hash tags (`<prefix>:jobs`, ...): start-up warns when they still hold jobs. */
export function legacyKeys(prefix: string): { stream: string; delayed: string; dlq: string } {
  return { stream: `${prefix}:jobs`, delayed: `${prefix}:jobs:delayed`, dlq: `${prefix}:jobs:dlq` };
}

/**
 * The shard of a job: by its partition key (CRC16 mod the shard count), so one
 * key's jobs stay on one stream, in order; without a key, `fallback` (the
 * producer's round robin).
 */
export function shardFor(names: QueueNames, partitionKey: string | undefined, fallback: number): QueueShard {
  const count = names.shards.length;
  const index = count === 1 ? 0 : partitionKey === undefined ? fallback % count : crc16(partitionKey) % count;
  return names.shards[index] as QueueShard;
}
