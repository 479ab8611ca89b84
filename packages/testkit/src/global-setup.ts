import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { findLeaks } from './leak-check.js';
import { startPostgres } from './postgres.js';
import { RUN_ID_ENV } from './processes.js';
import { startRedis } from './redis.js';
import { startRedisCluster } from './redis-cluster.js';
import { ensureStackBinaries } from './stack/go-programs.js';
import type {} from './vitest-context.js';
import { waitFor } from './wait-for.js';

/**
 * vitest global setup: one Redis and one PostgreSQL for the whole run, handed
 * to tests with `inject('redisUrl')` / `inject('databaseUrl')`. Tests isolate
 * themselves with unique stream names and schemas. Teardown fails the run if
 * any process or temp dir of this run is left behind.
 */
interface Shared {
  users: number;
  ready: Promise<{ redisUrl: string; databaseUrl: string; stop(): Promise<void> }>;
}

interface SharedCluster {
  users: number;
  ready: Promise<{ nodes: string; stop(): Promise<void> }>;
}

/**
 * Projects whose tests run on Redis Cluster too. The cluster (six redis-servers,
 * ~5 s to form) starts only when one of them has tests queued, once per run.
 */
const CLUSTER_PROJECTS = new Set(['queue', 'e2e']);

// vitest runs the global setup once per project, in one process: share one
// set of servers between them and tear down after the last project is done.
const KEY = Symbol.for('media-cluster.testkit.shared');
const CLUSTER_KEY = Symbol.for('media-cluster.testkit.shared-cluster');
const holder = globalThis as unknown as { [KEY]?: Shared; [CLUSTER_KEY]?: SharedCluster };

async function startSharedCluster() {
  const cluster = await startRedisCluster({ nodes: process.env.REDIS_CLUSTER_NODES });
  return { nodes: cluster.nodesEnv, stop: () => cluster.stop() };
}

async function startShared(id: string) {
  // The real collector, Jaeger and Prometheus: a no-op when the set-up built them,
  // otherwise built here, once, before any test file asks for them.
  await ensureStackBinaries();
  const [redis, postgres] = await Promise.all([
    startRedis({ url: process.env.REDIS_URL, appendOnly: false }),
    startPostgres({ url: process.env.DATABASE_URL }),
  ]);
  return {
    redisUrl: redis.url,
    databaseUrl: postgres.url,
    async stop() {
      await Promise.allSettled([redis.stop(), postgres.stop()]);
      await assertNothingLeft(id);
    },
  };
}

async function assertNothingLeft(id: string) {
  let leaks = findLeaks(id);
  try {
    // Children get a moment to exit after their parents' SIGTERM.
    await waitFor(
      () => {
        leaks = findLeaks(id);
        return leaks.processes.length === 0 && leaks.dirs.length === 0;
      },
      { timeoutMs: 5_000, what: 'test processes and temp dirs to go' },
    );
  } catch {
    const lines = [
      ...leaks.processes.map((p) => `process ${p.pid}: ${p.cmdline}`),
      ...leaks.dirs.map((d) => `temp dir: ${d}`),
    ];
    throw new Error(`The test run left these behind:\n  ${lines.join('\n  ')}`);
  }
}

/**
 * vitest global setup: one Redis and one PostgreSQL for the whole run, handed
 * to tests with `inject('redisUrl')` / `inject('databaseUrl')`, and for the
 * projects in CLUSTER_PROJECTS one Redis Cluster (`inject('redisClusterNodes')`).
 * Tests isolate themselves with unique stream names and schemas. Teardown fails
 * the run if any process or temp dir of this run is left behind.
 */
export default async function setup(project: TestProject) {
  if (!process.env[RUN_ID_ENV]) process.env[RUN_ID_ENV] = randomUUID().slice(0, 8);
  const id = process.env[RUN_ID_ENV];
  holder[KEY] ??= { users: 0, ready: startShared(id) };
  const shared = holder[KEY];
  shared.users += 1;
  let cluster: SharedCluster | undefined;
  // vitest 5 runs a root global setup once, for the root project: which projects run
  // this time (after --project filters) decides whether the cluster is needed.
  const running = [project.name, ...(project.vitest?.projects ?? []).map((p) => p.name)];
  if (running.some((name) => CLUSTER_PROJECTS.has(name))) {
    // Started alongside Redis and PostgreSQL, not after them.
    holder[CLUSTER_KEY] ??= { users: 0, ready: startSharedCluster() };
    cluster = holder[CLUSTER_KEY];
    cluster.users += 1;
  }
  const { redisUrl, databaseUrl } = await shared.ready;
  project.provide('redisUrl', redisUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisClusterNodes', cluster ? (await cluster.ready).nodes : '');

  return async () => {
    if (cluster) {
      cluster.users -= 1;
      if (cluster.users === 0) {
        holder[CLUSTER_KEY] = undefined;
        await (await cluster.ready).stop();
      }
    }
    shared.users -= 1;
    if (shared.users > 0) return;
    holder[KEY] = undefined;
    // The cluster is stopped above by its last user, before the leak check.
    await (await shared.ready).stop();
  };
}
