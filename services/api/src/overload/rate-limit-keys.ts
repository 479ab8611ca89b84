/**
 * Every Redis key of the rate limiter is built here (as packages/queue's
 * keys.ts does for the queue). All of them share one hash tag,
 * `{<prefix>:ratelimit}`, so a script may touch an address bucket and an owner
 * bucket together on Redis Cluster (one slot); the buckets are tiny and expire
 * once full again, so one slot holds them comfortably.
 */
export interface RateLimitKeys {
  /** Failed authentications of one client address. */
  authFailures(address: string): string;
  /** Job creations of one owner. */
  ownerJobs(owner: string): string;
  /** Upload requests of one owner. */
  ownerUploads(owner: string): string;
}

/** @param prefix - the deployment's QUEUE_PREFIX, e.g. `media-cluster`. */
export function rateLimitKeys(prefix: string): RateLimitKeys {
  if (prefix.length === 0 || /[\s{}]/.test(prefix)) {
    throw new TypeError(`rateLimitKeys: prefix must be non-empty, without spaces or braces (got ${prefix})`);
  }
  const tag = `{${prefix}:ratelimit}`;
  return Object.freeze({
    authFailures: (address: string) => `${tag}:auth-failures:${address}`,
    ownerJobs: (owner: string) => `${tag}:jobs:${owner}`,
    ownerUploads: (owner: string) => `${tag}:uploads:${owner}`,
  });
}
