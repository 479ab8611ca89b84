import { legacyKeys, type QueueNames } from './keys.js';
import type { QueueLogger, RedisClient } from './types.js';

/**
 * Before hash tags the queue lived at `<prefix>:jobs`, `<prefix>:jobs:delayed` and
 * `<prefix>:jobs:dlq`. Entries still there are read by nobody now: say so once at
 * start-up, with the way out (docs/runbook.md, "Upgrading to hash-tagged queue keys").
 */
export async function warnAboutLegacyKeys(
  redis: RedisClient,
  names: QueueNames,
  logger: QueueLogger,
): Promise<void> {
  const legacy = legacyKeys(names.prefix);
  try {
    // One key per command: on Redis Cluster these names live in different slots.
    const [stream, delayed, dlq] = await Promise.all([
      redis.exists(legacy.stream),
      redis.exists(legacy.delayed),
      redis.exists(legacy.dlq),
    ]);
    const found = [stream && legacy.stream, delayed && legacy.delayed, dlq && legacy.dlq].filter(Boolean);
    if (found.length === 0) return;
    logger.warn(
      { legacy_keys: found, streams: names.shards.map((s) => s.stream) },
      'queue keys from before hash tags still exist and are no longer read; drain or rename them (docs/runbook.md, "Upgrading to hash-tagged queue keys")',
    );
  } catch (error) {
    logger.debug?.({ err: error }, 'could not check for legacy queue keys');
  }
}
