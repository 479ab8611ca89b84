import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { makeTempDir, removeTempDir, type Spawned, spawnTracked, stopProcess } from './processes.js';
import { launchRedisServer, pingRedis } from './redis.js';
import { externalHandle, ownedHandle } from './service-handle.js';
import { waitFor } from './wait-for.js';

/** Every hash slot of a Redis Cluster. */
const SLOTS = 16_384;

export interface RedisClusterOptions {
  /** Masters; each gets `replicasPerMaster` replicas. @defaultValue 3 */
  masters?: number;
  /** @defaultValue 1 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: a master unreachable this long is failed over to its
   * replica. Short, so a failover test waits seconds, not the 15 s default. @defaultValue 2_000 ms
   */
  nodeTimeoutMs?: number;
  /** Use this running cluster (`host:port,...`, e.g. `REDIS_CLUSTER_NODES`) instead of starting one. */
  nodes?: string;
  /** Bound on start-up (servers up, `--cluster create`, all slots covered, replicas in sync). @defaultValue 60_000 ms */
  timeoutMs?: number;
}

export interface RedisClusterNode {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: one node, for commands addressed to it (CLUSTER INFO, INFO). */
  readonly url: string;
  /** SIGKILL (no failover handshake); its data dir and nodes.conf are kept for `restart()`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and config: it rejoins the cluster (a failed-over master as a replica). */
  restart(): Promise<void>;
}

export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** `fail`, `pfail` or handshake flags make a node not `healthy`. */
  readonly healthy: boolean;
  /** For a replica: its master's id. */
  readonly masterId: string | undefined;
  readonly slots: readonly [from: number, to: number][];
}

export interface RedisClusterHandle {
  /** `127.0.0.1:<port>,...` of every node: what `REDIS_CLUSTER_NODES` takes. */
  readonly nodesEnv: string;
  readonly nodes: readonly RedisClusterNode[];
  /** The cluster's view right now (CLUSTER NODES of a reachable node). */
  topology(): Promise<ClusterNodeInfo[]>;
  /**
   * Polls (bounded) until every reachable node reports `cluster_state:ok` with all
   * 16 384 slots ok, and, with `replicas`, every master has a replica in sync.
   */
  waitHealthy(options?: { replicas?: boolean; timeoutMs?: number }): Promise<void>;
  /** Stops every node and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** False for a cluster given by `nodes` (it cannot be killed or stopped from here). */
  readonly owned: boolean;
}

/** Runs one command on one node (not through cluster routing); undefined when the node does not answer. */
async function onNode(port: number, ...args: string[]): Promise<string | undefined> {
  if (!(await pingRedis(port))) return undefined;
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.call(args[0] as string, ...args.slice(1)));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** Parses CLUSTER NODES. */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const [id, address, flags, master, , , , , ...slotFields] = line.trim().split(' ');
      const flagSet = new Set((flags ?? '').split(','));
      const port = Number(/:(\d+)@/.exec(address ?? '')?.[1]);
      const slots = slotFields
        .filter((f) => !f.startsWith('['))
        .map((f) => {
          const [from, to] = f.split('-').map(Number);
          return [from as number, (to ?? from) as number] as [number, number];
        });
      return {
        id: id as string,
        port,
        role: flagSet.has('master') ? 'master' : 'replica',
        healthy: !['fail', 'fail?', 'handshake', 'noaddr'].some((f) => flagSet.has(f)),
        masterId: master && master !== '-' ? master : undefined,
        slots,
      } satisfies ClusterNodeInfo;
    });
}

/**
 * Starts a private Redis Cluster from the machine's redis-server: `masters` ×
 * (1 + `replicasPerMaster`) nodes with `--cluster-enabled yes` on free ports
 * (client and bus ports) in one temp dir, joined with `redis-cli --cluster
 * create --cluster-replicas N --cluster-yes`, and returns once every slot is
 * covered and every replica is in sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  if (options.nodes) return external(options.nodes);
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const count = masters * (1 + replicasPerMaster);
  const binary = findBinary('redis-server');
  const cli = findBinary('redis-cli');
  const ports = new Set<number>();
  while (ports.size < count * 2) ports.add(await freePort());
  const [clientPorts, busPorts] = [[...ports].slice(0, count), [...ports].slice(count)];
  const dir = makeTempDir('redis-cluster');
  const procs = new Map<number, Spawned>();
  let stopped = false;

  const launch = async (port: number, busPort: number) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    procs.set(
      port,
      await launchRedisServer(binary, port, nodeDir, [
        ...['--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-port', String(busPort)],
        ...['--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs)],
      ]),
    );
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...procs.values()].map((p) => stopProcess(p, 'SIGTERM')));
    removeTempDir(dir);
  };

  const handle: RedisClusterHandle = {
    nodesEnv: clientPorts.map((p) => `127.0.0.1:${p}`).join(','),
    // kill() is SIGKILL, restart() SIGTERM then the same launch: ownedHandle's; the cluster's stop() removes the dir.
    nodes: clientPorts.map((port, i) =>
      ownedHandle({
        url: () => `redis://127.0.0.1:${port}`,
        port: () => port,
        process: () => procs.get(port),
        launch: () => launch(port, busPorts[i] as number),
        stopSignal: 'SIGTERM',
        cleanup: () => {},
      }),
    ),
    topology: () => topology(clientPorts),
    waitHealthy: (o = {}) => waitHealthy(clientPorts, o.replicas ?? true, o.timeoutMs ?? timeoutMs),
    stop,
    owned: true,
  };

  try {
    await Promise.all(clientPorts.map((port, i) => launch(port, busPorts[i] as number)));
    const create = spawnTracked(cli, [
      ...['--cluster', 'create', ...clientPorts.map((p) => `127.0.0.1:${p}`)],
      ...['--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
    ]);
    const exit = await Promise.race([
      create.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref()),
    ]);
    if (exit === undefined) await stopProcess(create, 'SIGKILL');
    if (exit?.code !== 0) throw new Error(`redis-cli --cluster create failed: ${create.output()}`);
    await handle.waitHealthy();
  } catch (error) {
    await stop();
    throw error;
  }
  return handle;
}

async function topology(ports: readonly number[]): Promise<ClusterNodeInfo[]> {
  for (const port of ports) {
    const text = await onNode(port, 'CLUSTER', 'NODES');
    if (text !== undefined) return parseClusterNodes(text);
  }
  throw new Error('no cluster node answers');
}

async function waitHealthy(ports: readonly number[], replicas: boolean, timeoutMs: number): Promise<void> {
  let last = 'no node answered yet';
  await waitFor(
    async () => {
      let answered = 0;
      for (const port of ports) {
        const info = await onNode(port, 'CLUSTER', 'INFO');
        if (info === undefined) continue;
        answered++;
        const state = infoField(info, 'cluster_state');
        const slotsOk = Number(infoField(info, 'cluster_slots_ok'));
        if (state !== 'ok' || slotsOk !== SLOTS) {
          last = `node ${port}: cluster_state:${state}, cluster_slots_ok:${slotsOk}`;
          return false;
        }
      }
      if (answered === 0) return false;
      const nodes = await topology(ports);
      const covered = nodes
        .filter((n) => n.role === 'master' && n.healthy)
        .reduce((sum, n) => sum + n.slots.reduce((s, [from, to]) => s + to - from + 1, 0), 0);
      if (covered !== SLOTS) {
        last = `healthy masters cover ${covered} of ${SLOTS} slots`;
        return false;
      }
      if (!replicas) return true;
      for (const master of nodes.filter((n) => n.role === 'master' && n.slots.length > 0)) {
        const replica = nodes.find((n) => n.masterId === master.id && n.healthy);
        const info = replica && (await onNode(replica.port, 'INFO', 'replication'));
        if (!info || infoField(info, 'master_link_status') !== 'up') {
          last = `master ${master.port} has no replica in sync`;
          return false;
        }
      }
      return true;
    },
    { timeoutMs, intervalMs: 100, what: 'the Redis Cluster to be healthy' },
  ).catch((error: Error) => {
    throw new Error(`${error.message} (last: ${last})`, { cause: error });
  });
}

function external(nodes: string): RedisClusterHandle {
  const ports = nodes.split(',').map((n) => Number(new URL(n.includes('://') ? n : `redis://${n}`).port));
  return {
    nodesEnv: nodes,
    nodes: ports.map((port) => externalHandle('Redis Cluster node', `redis://127.0.0.1:${port}`, 6379)),
    topology: () => topology(ports),
    waitHealthy: (o = {}) => waitHealthy(ports, o.replicas ?? true, o.timeoutMs ?? 30_000),
    stop: async () => {},
    owned: false,
  };
}
