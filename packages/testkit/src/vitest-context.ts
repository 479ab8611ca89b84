// Importing anything from '@media-cluster/testkit' brings this augmentation
// along, so `inject('redisUrl')` is typed in every package's tests.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Shared Redis for this run (private instance, or `REDIS_URL`). */
    redisUrl: string;
    /** Shared PostgreSQL for this run (private instance, or `DATABASE_URL`). Use createTestSchema(). */
    databaseUrl: string;
    /**
     * Shared Redis Cluster (3 masters, 1 replica each) as `host:port,...`, or `REDIS_CLUSTER_NODES`;
     * started only for the projects in the global setup's `CLUSTER_PROJECTS` (empty elsewhere).
     * Tests that kill nodes start their own with startRedisCluster().
     */
    redisClusterNodes: string;
  }
}

export type TestkitProvidedContext = import('vitest').ProvidedContext;
