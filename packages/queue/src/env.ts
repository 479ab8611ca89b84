import { envInt, envList, envUrl } from '@media-cluster/config';
import { parseClusterNode } from './connect.js';
import { MAX_SHARDS } from './keys.js';

/**
 * The environment every process on the queue reads the same way (the api that
 * enqueues and the workers that consume must agree on it): spread into a
 * service's zod schema, read with `loadConfig`, passed to `connectRedis` and
 * the producer/consumer `shards` option.
 */
export const queueEnv = {
  REDIS_URL: envUrl(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** Redis Cluster nodes (`host:port` or `redis://` URLs, comma-separated); when set, used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: envList()
    .refine((nodes) => nodes.every((node) => parseClusterNode(node) !== undefined), {
      error: 'expected comma-separated host:port or redis:// / rediss:// URLs with a port',
    })
    .optional(),
  /** Streams the queue spreads jobs over (by partition key), same in every process; see the README's Scaling section. */
  QUEUE_SHARDS: envInt(1, MAX_SHARDS).default(1),
};
