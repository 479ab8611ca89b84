/**
 * Every Redis key and stream name the queue touches is built here, so a
 * deployment can move the whole queue under another prefix in one place.
 */
export interface QueueNames {
  /** The job stream, e.g. `media-cluster:jobs`. */
  readonly stream: string;
  /** The consumer group reading {@link QueueNames.stream}, e.g. `media-cluster-workers`. */
  readonly group: string;
  /** The dead-letter stream, e.g. `media-cluster:jobs:dlq`. */
  readonly dlq: string;
  /** Sorted set of retries waiting for their backoff (score = due time, epoch ms). */
  readonly delayed: string;
}

/** The default prefix of every queue name. */
export const DEFAULT_QUEUE_PREFIX = 'media-cluster';

/**
 * Builds the queue's Redis names from one prefix.
 *
 * @param prefix - @defaultValue `'media-cluster'`
 */
export function queueNames(prefix: string = DEFAULT_QUEUE_PREFIX): QueueNames {
  if (typeof prefix !== 'string' || prefix.length === 0 || /\s/.test(prefix)) {
    throw new TypeError(
      `queueNames: prefix must be a non-empty string without spaces (got ${JSON.stringify(prefix)})`,
    );
  }
  return Object.freeze({
    stream: `${prefix}:jobs`,
    group: `${prefix}-workers`,
    dlq: `${prefix}:jobs:dlq`,
    delayed: `${prefix}:jobs:delayed`,
  });
}
