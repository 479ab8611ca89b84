import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './types.js';

/** Where the queue's Redis is: one node by URL, or a Redis Cluster by some of its nodes. */
export interface RedisTarget {
  /** `redis://` or `rediss://` URL of one node (`REDIS_URL`); ignored when `clusterNodes` is set. */
  url: string;
  /** `host:port` or `redis://` / `rediss://` URLs of cluster nodes (`REDIS_CLUSTER_NODES`); any reachable one is enough to find the rest. */
  clusterNodes?: readonly string[];
}

export interface ClusterNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** Parses one `REDIS_CLUSTER_NODES` item; undefined when it is neither `host:port` nor a redis URL with a port. */
export function parseClusterNode(node: string): ClusterNode | undefined {
  let url: URL;
  try {
    url = new URL(node.includes('://') ? node : `redis://${node}`);
  } catch {
    return undefined;
  }
  const port = Number(url.port);
  if (!['redis:', 'rediss:'].includes(url.protocol) || !url.hostname || !Number.isInteger(port) || port < 1) {
    return undefined;
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    tls: url.protocol === 'rediss:',
  };
}

/**
 * An ioredis client for `target`: a `Cluster` when cluster nodes are given (the
 * credentials and TLS of the first node URL apply to all), else a `Redis`. The
 * options are ioredis' per-connection options; on a Cluster, those that belong
 * to the cluster (`lazyConnect`, `enableOfflineQueue`, `enableAutoPipelining`,
 * `enableReadyCheck`) are moved there.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const list = target.clusterNodes ?? [];
  if (list.length === 0) return new Redis(target.url, options);
  const nodes = list.map((item) => {
    const node = parseClusterNode(item);
    if (!node) throw new TypeError(`not a cluster node (host:port or redis:// URL): ${item}`);
    return node;
  });
  const first = nodes[0] as ClusterNode;
  const { lazyConnect, enableOfflineQueue, enableAutoPipelining, enableReadyCheck, ...redisOptions } =
    options;
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...redisOptions,
      ...(first.username ? { username: first.username } : {}),
      ...(first.password ? { password: first.password } : {}),
      ...(first.tls ? { tls: {} } : {}),
    },
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
  };
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
}
