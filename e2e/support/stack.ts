// The whole system as real processes for fault and abuse tests: api + N
// workers (built dist, loaded with the telemetry register hook, as `npm start`
// runs them), Redis and Postgres (the run's shared ones, or private ones a test
// may kill), and testkit's OTLP receiver. Build first: `pnpm turbo run build`.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connectRedis, type QueueNames, type QueueShard, queueNames } from '@media-cluster/queue';
import {
  createTestSchema,
  freePort,
  makeTempDir,
  type OtlpReceiver,
  type RedisClusterHandle,
  removeTempDir,
  type ServiceHandle,
  type ServiceProcess,
  spawnService,
  startOtlpReceiver,
  startPostgres,
  startRedis,
  type TestSchema,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import pg from 'pg';
import { inject } from 'vitest';
import { tinyPng } from './tiny-png.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Owner A's key (every helper uses it unless told otherwise) and owner B's. */
export const KEY_A = 'stack-key-a-0123456789';
export const KEY_B = 'stack-key-b-9876543210';

export interface StackOptions {
  /** Names the queue prefix and temp dirs. */
  label: string;
  /** A private redis-server (AOF on) this test may kill; default: the run's shared one. */
  privateRedis?: boolean;
  /** api and workers on this Redis Cluster (REDIS_CLUSTER_NODES) instead of a single Redis. */
  redisCluster?: RedisClusterHandle;
  /** QUEUE_SHARDS of api and workers. @defaultValue 1 */
  shards?: number;
  /** A private PostgreSQL this test may kill; default: a fresh schema on the shared one. */
  privatePostgres?: boolean;
  /** Workers started with the stack. @defaultValue 1 */
  workers?: number;
  /** Env of every process (api and workers). */
  env?: Record<string, string>;
  /** Env of every worker (after the defaults below). */
  workerEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  /**
   * Point the services at this OTLP gRPC port instead of starting a receiver
   * (the test starts one there later: "collector unreachable, then back").
   */
  otlpPort?: number;
}

export interface WorkerHandle {
  proc: ServiceProcess;
  /** Worker `/metrics`, `/health`, `/ready`. */
  metricsUrl: string;
}

export interface SeededJob {
  petId: string;
  photoIds: string[];
  jobId: string;
  traceId: string;
}

export interface JobRow {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
}

/** Short defaults so faults recover in seconds: claim after 1.5 s idle, retries from 100 ms. */
const WORKER_DEFAULTS = {
  CLAIM_IDLE_MS: '1500',
  RETRY_BASE_MS: '100',
  RETRY_MAX_MS: '1000',
  MAX_ATTEMPTS: '5',
  WORKER_CONCURRENCY: '2',
  SHUTDOWN_GRACE_MS: '15000',
  WEBHOOK_TIMEOUT_MS: '2000',
};

export type Stack = Awaited<ReturnType<typeof startStack>>;

export async function startStack(options: StackOptions) {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const processes: ServiceProcess[] = [];
  const workers: WorkerHandle[] = [];
  const petIds = new Set<string>();
  let seed = randomBytes(4).readUInt32BE(0);

  const redisServer: ServiceHandle | undefined = options.privateRedis
    ? await startRedis({ appendOnly: true })
    : undefined;
  if (redisServer) cleanups.push(() => redisServer.stop());
  let postgresServer: ServiceHandle | undefined;
  let schema: TestSchema | undefined;
  let photoDir: string | undefined;
  let otlp: OtlpReceiver | undefined;
  try {
    postgresServer = options.privatePostgres ? await startPostgres() : undefined;
    if (postgresServer) cleanups.push(() => postgresServer?.stop());
    schema = await createTestSchema(postgresServer?.url ?? inject('databaseUrl'));
    // The schema goes with a private server; on the shared one it is dropped.
    if (!postgresServer) cleanups.push(() => schema?.drop());
    photoDir = makeTempDir(`${options.label}-photos`);
    cleanups.push(() => photoDir && removeTempDir(photoDir));
    if (options.otlpPort === undefined) {
      otlp = await startOtlpReceiver();
      cleanups.push(() => otlp?.stop());
    }
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    throw error;
  }

  const redisUrl = redisServer?.url ?? inject('redisUrl');
  const prefix = uniqueName(options.label);
  const names: QueueNames = queueNames(prefix, { shards: options.shards ?? 1 });
  const clusterNodes = options.redisCluster?.nodesEnv;
  const db = new pg.Pool({ connectionString: schema.url, max: 4, connectionTimeoutMillis: 2_000 });
  db.on('error', () => {}); // a killed server: the next query reports it
  const redis = connectRedis(
    { url: redisUrl, clusterNodes: clusterNodes?.split(',') },
    { maxRetriesPerRequest: 1, lazyConnect: true },
  );
  redis.on('error', () => {});

  const [apiPort, apiMetricsPort] = [await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const otlpEnv = otlp
    ? otlp.exporterEnv()
    : {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${options.otlpPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      };
  const common = {
    ...otlpEnv,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    REDIS_URL: redisUrl,
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    QUEUE_SHARDS: String(names.shards.length),
    DATABASE_URL: schema.url,
    QUEUE_PREFIX: prefix,
    PHOTO_DIR: photoDir,
    CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...options.env,
  };

  async function startWorker(env: Record<string, string> = {}): Promise<WorkerHandle> {
    const port = await freePort();
    const proc = await spawnService({
      entry: `${ROOT}services/worker/dist/index.js`,
      packageDir: `${ROOT}services/worker`,
      readyUrl: `http://127.0.0.1:${port}/ready`,
      readyTimeoutMs: 60_000,
      env: {
        ...common,
        OTEL_SERVICE_NAME: 'media-cluster-worker',
        WORKER_METRICS_PORT: String(port),
        PUBLIC_API_URL: apiUrl,
        ...WORKER_DEFAULTS,
        ...options.workerEnv,
        ...env,
      },
    });
    processes.push(proc);
    const handle = { proc, metricsUrl: `http://127.0.0.1:${port}` };
    workers.push(handle);
    return handle;
  }

  /** An api process on the stack's Redis, Postgres and photo store, on these ports. */
  async function spawnApi(
    port: number,
    metricsPort: number,
    extra: Record<string, string>,
    env: Record<string, string>,
  ): Promise<ServiceProcess> {
    const proc = await spawnService({
      entry: `${ROOT}services/api/dist/index.js`,
      packageDir: `${ROOT}services/api`,
      readyUrl: `http://127.0.0.1:${port}/ready`,
      readyTimeoutMs: 60_000,
      env: {
        ...common,
        OTEL_SERVICE_NAME: 'media-cluster-api',
        ...extra,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        API_KEYS: `${KEY_A}:owner-a,${KEY_B}:owner-b`,
        ...options.apiEnv,
        ...env,
      },
    });
    processes.push(proc);
    return proc;
  }

  const startApi = (env: Record<string, string> = {}) => spawnApi(apiPort, apiMetricsPort, {}, env);

  /**
   * Another api process on the same Redis, Postgres and photo store (its own
   * ports): what a second replica behind a load balancer is.
   */
  async function startApiReplica(env: Record<string, string> = {}) {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const instance = { OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=api-replica-${port}` };
    const proc = await spawnApi(port, metricsPort, instance, env);
    return { proc, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}` };
  }

  let api!: ServiceProcess;
  try {
    await redis.connect();
    [api] = await Promise.all([
      startApi(),
      ...Array.from({ length: options.workers ?? 1 }, () => startWorker()),
    ]);
  } catch (error) {
    await stopAll();
    throw error;
  }

  const authOf = (key: string | null = KEY_A): Record<string, string> =>
    key === null ? {} : { authorization: `Bearer ${key}` };

  /** Uploads `photos` for `petId` (201 expected); returns the photo ids in order. */
  async function uploadPhotos(petId: string, photos: Buffer[], key: string = KEY_A): Promise<string[]> {
    petIds.add(petId);
    const form = new FormData();
    for (const [i, bytes] of photos.entries()) form.append('photos', new Blob([bytes]), `p${i}.png`);
    const res = await fetch(`${apiUrl}/v1/pets/${petId}/photos`, {
      method: 'POST',
      headers: authOf(key),
      body: form,
    });
    if (res.status !== 201) throw new Error(`upload for ${petId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { photos: { id: string }[] };
    return body.photos.map((p) => p.id);
  }

  /** POST clustering-jobs; returns the raw response (callers check the status). */
  function postJob(petId: string, body: object = {}, key: string = KEY_A): Promise<Response> {
    petIds.add(petId);
    return fetch(`${apiUrl}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers: { ...authOf(key), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** POST clustering-jobs expecting 202; returns the job and trace ids. */
  async function createJob(petId: string, body: object = {}, key: string = KEY_A) {
    const res = await postJob(petId, body, key);
    if (res.status !== 202) throw new Error(`job for ${petId}: ${res.status} ${await res.text()}`);
    const { jobId, traceId } = (await res.json()) as { jobId: string; traceId: string };
    return { jobId, traceId };
  }

  /** A pet id that cannot appear in telemetry by accident. */
  const newPetId = () => `pet-${randomBytes(6).toString('hex')}`;
  /** `count` distinct tiny PNGs. */
  const newPhotos = (count: number) => Array.from({ length: count }, () => tinyPng(seed++));

  /**
   * `count` pets with 1-3 tiny photos each and one job per pet, `parallel` at
   * a time. `photosPerJob(i)` overrides the 1-3 cycle.
   */
  async function seedJobs(
    count: number,
    { parallel = 8, photosPerJob = (i: number) => 1 + (i % 3) } = {},
  ): Promise<SeededJob[]> {
    const jobs: SeededJob[] = new Array(count);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < count; i = next++) {
        const petId = newPetId();
        const photoIds = await uploadPhotos(petId, newPhotos(photosPerJob(i)));
        jobs[i] = { petId, photoIds, ...(await createJob(petId)) };
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
    return jobs;
  }

  async function jobRows(jobIds: readonly string[]): Promise<Map<string, JobRow>> {
    const { rows } = await db.query<JobRow>(
      'SELECT id, status, attempts, error FROM jobs WHERE id = ANY($1::uuid[])',
      [jobIds],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * Polls Postgres until every job is `succeeded` or `dead_lettered` (a
   * poll failing while Postgres is down is just "not yet").
   */
  async function waitForJobs(
    jobIds: readonly string[],
    { timeoutMs = 60_000 } = {},
  ): Promise<Map<string, JobRow>> {
    return waitFor(
      async () => {
        const rows = await jobRows(jobIds);
        const counts: Record<string, number> = {};
        for (const r of rows.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
        const done = [...rows.values()].filter(
          (r) => r.status === 'succeeded' || r.status === 'dead_lettered',
        );
        if (rows.size === jobIds.length && done.length === jobIds.length) return rows;
        throw new Error(`${done.length}/${jobIds.length} finished, by status ${JSON.stringify(counts)}`);
      },
      { timeoutMs, intervalMs: 200, what: `${jobIds.length} jobs to finish` },
    );
  }

  /**
   * One complete result per job, straight from Postgres: its clusters are
   * numbered 0..k-1, each hero is a member of its cluster, and the members
   * are exactly the job's photos, each once. Returns the problems found.
   */
  async function resultProblems(jobs: readonly SeededJob[]): Promise<string[]> {
    const { rows } = await db.query<{
      id: string;
      photo_ids: string[];
      clusters: number;
      max_index: number | null;
      members: string[] | null;
      bad_heroes: number;
    }>(
      `SELECT j.id, j.photo_ids::text[] AS photo_ids,
              (SELECT count(*)::int FROM clusters c WHERE c.job_id = j.id) AS clusters,
              (SELECT max(cluster_index) FROM clusters c WHERE c.job_id = j.id) AS max_index,
              (SELECT array_agg(m.photo_id::text ORDER BY m.photo_id) FROM cluster_members m
                WHERE m.job_id = j.id) AS members,
              (SELECT count(*)::int FROM clusters c WHERE c.job_id = j.id AND NOT EXISTS (
                 SELECT 1 FROM cluster_members m WHERE m.job_id = c.job_id
                    AND m.cluster_index = c.cluster_index AND m.photo_id = c.hero_photo_id)) AS bad_heroes
         FROM jobs j WHERE j.id = ANY($1::uuid[])`,
      [jobs.map((j) => j.jobId)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const problems: string[] = [];
    for (const job of jobs) {
      const r = byId.get(job.jobId);
      if (!r) {
        problems.push(`${job.jobId}: no job row`);
        continue;
      }
      const expected = [...job.photoIds].sort();
      if (JSON.stringify(r.members ?? []) !== JSON.stringify(expected))
        problems.push(
          `${job.jobId}: members ${JSON.stringify(r.members)} != photos ${JSON.stringify(expected)}`,
        );
      if (r.clusters < 1 || r.max_index !== r.clusters - 1)
        problems.push(`${job.jobId}: ${r.clusters} clusters, max index ${r.max_index}`);
      if (r.bad_heroes > 0) problems.push(`${job.jobId}: ${r.bad_heroes} heroes outside their cluster`);
    }
    return problems;
  }

  /** Every JSON log line of every process this stack started (killed ones included). */
  const logs = () => processes.flatMap((p) => p.logs());

  /** How many `job_completed` lines each job has across all workers. */
  function completions(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const line of logs()) {
      if (line.event === 'job_completed' && typeof line.job_id === 'string')
        counts.set(line.job_id, (counts.get(line.job_id) ?? 0) + 1);
    }
    return counts;
  }

  /** Sum of a metric's samples (all label sets) on a `/metrics` page. */
  async function scrape(baseUrl: string, metric: string): Promise<number> {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (match?.[1] === metric) sum += Number(match[3]);
    }
    return sum;
  }

  let stopped: Promise<void> | undefined;
  function stopAll(): Promise<void> {
    stopped ??= (async () => {
      await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000)));
      await db.end().catch(() => {});
      redis.disconnect();
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    })();
    return stopped;
  }

  return {
    apiUrl,
    apiMetricsUrl: `http://127.0.0.1:${apiMetricsPort}`,
    get api() {
      return api;
    },
    /** Workers started so far (dead ones included; check `proc.child.exitCode`). */
    workers,
    /** Only when the stack started it (no `otlpPort`). */
    otlp,
    redisServer,
    postgresServer,
    redisUrl,
    databaseUrl: schema.url,
    photoDir,
    names,
    /** Keys of shard 0 (the only one unless `shards` was given). */
    keys: names.shards[0] as QueueShard,
    /** The test's own clients, for checks. */
    db,
    redis,
    /** Every pet id the helpers used: none may reach telemetry. */
    petIds,
    auth: authOf,
    startWorker,
    startApiReplica,
    /** Restarts the api (after `api.stop()`), same port and env. */
    async restartApi(env?: Record<string, string>) {
      api = await startApi(env);
      return api;
    },
    uploadPhotos,
    postJob,
    createJob,
    newPetId,
    newPhotos,
    seedJobs,
    jobRows,
    waitForJobs,
    resultProblems,
    logs,
    completions,
    scrape,
    stop: stopAll,
  };
}
