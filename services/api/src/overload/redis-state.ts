/** ioredis states of a client that has lost (or never opened) its connection. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end', 'wait']);

/**
 * Whether a command sent now would only wait in ioredis' offline queue. A
 * client still connecting is not down: its commands go out in a moment.
 */
export function redisDown(redis: { readonly status?: string }): boolean {
  return redis.status !== undefined && DOWN_STATES.has(redis.status);
}
