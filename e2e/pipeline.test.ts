// End to end: api and worker as real processes (built dist, loaded with the
// telemetry register hook), real Redis/Postgres, spans through testkit's OTLP
// receiver. Twice: on one Redis, and on the run's Redis Cluster with the queue
// in 3 shards. beforeAll uploads the labelled set, runs a job with a callback,
// waits for its trace, reads the results and stops both processes; each test
// then checks one thing of that run, in any order, alone or together.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adjustedRandIndex } from '@media-cluster/clustering';
import {
  createTestSchema,
  freePort,
  imageMarkersIn,
  makeTempDir,
  type OtlpReceiver,
  PHOTO_FIXTURES_DIR,
  type ReceivedSpan,
  removeTempDir,
  type ServiceProcess,
  spawnService,
  startOtlpReceiver,
  type TestSchema,
  type TraceNode,
  telemetryLeaks,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SHARED = pathToFileURL(PHOTO_FIXTURES_DIR);
const KEY = 'e2e-api-key-0123456789';

interface ManifestFile {
  file: string;
  group: string;
  sharp: boolean;
  sha256: string;
}
const manifest = JSON.parse(readFileSync(new URL('clusters/manifest.json', SHARED), 'utf8')) as {
  files: ManifestFile[];
  groups: Record<string, { not_hero: { file: string }[] }>;
};

/** Where the api and worker find the queue. */
const BACKENDS = [
  { name: 'redis', env: () => ({ REDIS_URL: inject('redisUrl') }) },
  {
    name: 'cluster, 3 shards',
    env: () => ({ REDIS_CLUSTER_NODES: inject('redisClusterNodes'), QUEUE_SHARDS: '3' }),
  },
];

describe.each(BACKENDS)('end to end on $name', (backend) => {
  let otlp: OtlpReceiver;
  let schema: TestSchema;
  let photoDir: string;
  let api: ServiceProcess | undefined;
  let worker: ServiceProcess | undefined;
  let hooks: Server;
  const hookCalls: { headers: IncomingHttpHeaders; body: unknown }[] = [];
  let apiUrl: string;
  let workerMetricsPort: number;
  let apiMetricsPort: number;
  // A raw pet id that must never show up in telemetry.
  const petId = `pet-${uniqueName('e2e').slice(-12)}`;
  /** What the run produced; every test reads it, none changes it. */
  let run: Awaited<ReturnType<typeof runPipeline>>;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    schema = await createTestSchema(inject('databaseUrl'));
    photoDir = makeTempDir('e2e-photos');
    hooks = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        hookCalls.push({ headers: req.headers, body: JSON.parse(raw) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    const [port, aMetrics, wMetrics] = [await freePort(), await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${port}`;
    apiMetricsPort = aMetrics;
    workerMetricsPort = wMetrics;
    const common = {
      ...otlp.exporterEnv(),
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      ...backend.env(),
      DATABASE_URL: schema.url,
      QUEUE_PREFIX: uniqueName('e2e'),
      PHOTO_DIR: photoDir,
      CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    [api, worker] = await Promise.all([
      spawnService({
        entry: `${ROOT}services/api/dist/index.js`,
        packageDir: `${ROOT}services/api`,
        readyUrl: `${apiUrl}/ready`,
        env: {
          ...common,
          OTEL_SERVICE_NAME: 'media-cluster-api',
          PORT: String(port),
          METRICS_PORT: String(aMetrics),
          API_KEYS: `${KEY}:owner-e2e`,
        },
      }),
      spawnService({
        entry: `${ROOT}services/worker/dist/index.js`,
        packageDir: `${ROOT}services/worker`,
        readyUrl: `http://127.0.0.1:${wMetrics}/ready`,
        env: {
          ...common,
          OTEL_SERVICE_NAME: 'media-cluster-worker',
          WORKER_METRICS_PORT: String(wMetrics),
          PUBLIC_API_URL: apiUrl,
        },
      }),
    ]);
    run = await runPipeline();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    hooks?.closeAllConnections();
    await new Promise((r) => hooks?.close(r));
    await otlp?.stop();
    await schema?.drop();
    if (photoDir) removeTempDir(photoDir);
  });

  const auth = { authorization: `Bearer ${KEY}` };

  function findNode(roots: TraceNode[], match: (s: ReceivedSpan) => boolean): TraceNode | undefined {
    for (const node of roots) {
      if (match(node.span)) return node;
      const inner = findNode(node.children, match);
      if (inner) return inner;
    }
    return undefined;
  }

  /**
   * Upload → job (with a callback) → success → clusters, then wait for the
   * job's whole trace and the webhook, scrape both /metrics pages and stop
   * both processes with SIGTERM (which flushes their last telemetry).
   */
  async function runPipeline() {
    const form = new FormData();
    for (const f of manifest.files) {
      const bytes = readFileSync(new URL(f.file, SHARED));
      expect(createHash('sha256').update(bytes).digest('hex'), `${f.file} changed`).toBe(f.sha256);
      form.append('photos', new Blob([bytes]), f.file.split('/').pop());
    }
    const upload = await fetch(`${apiUrl}/v1/pets/${petId}/photos`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
    const { photos } = (await upload.json()) as { photos: { id: string; sha256: string }[] };
    const idToFile = new Map(photos.map((p) => [p.id, manifest.files.find((f) => f.sha256 === p.sha256)!]));

    const hookPort = (hooks.address() as AddressInfo).port;
    const created = await fetch(`${apiUrl}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': uniqueName('idem') },
      body: JSON.stringify({ callbackUrl: `http://127.0.0.1:${hookPort}/hook?token=callback-secret-q` }),
    });
    const accepted = { status: created.status, body: (await created.json()) as Record<string, unknown> };
    const jobId = String(accepted.body.jobId);
    const traceId = String(accepted.body.traceId);

    const job = await waitFor(
      async () => {
        const res = await fetch(`${apiUrl}/v1/jobs/${jobId}`, { headers: auth });
        const j = (await res.json()) as { status: string; error: string | null };
        if (j.status === 'dead_lettered') throw new Error(`job dead-lettered: ${j.error}`);
        return j.status === 'succeeded' ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the job to succeed' },
    );
    const clustersRes = await fetch(`${apiUrl}/v1/pets/${petId}/clusters`, { headers: auth });
    const clusters = {
      status: clustersRes.status,
      body: (await clustersRes.json()) as { clusters: { heroPhotoId: string; photoIds: string[] }[] },
    };
    const hook = await waitFor(() => hookCalls[0], { timeoutMs: 10_000, what: 'the webhook' });
    await otlp.waitForSpans({ traceId, where: (s) => s.name === 'postgres.write' }, { timeoutMs: 30_000 });
    // The webhook's CLIENT span ends last.
    await otlp.waitForSpans(
      { traceId, where: (s) => s.kind === 'CLIENT' && s.attributes['http.request.method'] === 'POST' },
      { timeoutMs: 30_000 },
    );
    await otlp.waitForMetric('media_cluster_photos_processed', { timeoutMs: 10_000 });
    const metricsPages = await Promise.all(
      [apiMetricsPort, workerMetricsPort].map(async (port) =>
        (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      ),
    );
    const [apiExit, workerExit] = await Promise.all([api!.stop(), worker!.stop()]);
    return { idToFile, accepted, jobId, traceId, job, clusters, hook, metricsPages, apiExit, workerExit };
  }

  describe('upload → job → clusters, one trace', () => {
    it('the upload stored every photo, and the job was accepted with a trace id', () => {
      expect(run.idToFile.size).toBe(manifest.files.length);
      expect(run.accepted.status).toBe(202);
      expect(run.accepted.body).toMatchObject({
        status: 'queued',
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    });

    it('the job succeeds and the clusters match the labelled groups', () => {
      expect(run.job).toMatchObject({ status: 'succeeded', attempts: 1, traceId: run.traceId });
      expect(run.clusters.status).toBe(200);
      const { clusters } = run.clusters.body;
      const truth = new Map([...run.idToFile].map(([id, f]) => [id, f.group]));
      expect(clusters.flatMap((c) => c.photoIds).sort()).toEqual([...truth.keys()].sort());
      expect(
        adjustedRandIndex(
          clusters.map((c) => ({ ids: c.photoIds })),
          truth,
        ),
      ).toBeGreaterThanOrEqual(0.95);
      for (const c of clusters) expect(run.idToFile.get(c.heroPhotoId)!.sharp).toBe(true);
    });

    it('the webhook arrives inside the job trace', () => {
      expect(run.hook.body).toEqual({
        jobId: run.jobId,
        status: 'succeeded',
        clustersUrl: `${apiUrl}/v1/pets/${petId}/clusters`,
      });
      expect(String(run.hook.headers.traceparent)).toMatch(
        new RegExp(`^00-${run.traceId}-[0-9a-f]{16}-0[01]$`),
      );
    });

    it('one trace: HTTP server → send → process → stages (pg beneath postgres.write) → webhook client', () => {
      const { traceId, jobId } = run;
      const roots = otlp.traceTree(traceId);
      const tree = otlp.renderTrace(traceId);
      expect(roots, tree).toHaveLength(1);

      const server = roots[0]!;
      expect(server.span.kind, tree).toBe('SERVER');
      expect(server.span.resource['service.name']).toBe('media-cluster-api');

      const send = findNode([server], (s) => s.name === 'send media-cluster:jobs' || s.kind === 'PRODUCER');
      expect(send?.span.kind, tree).toBe('PRODUCER');
      const process = send && findNode(send.children, (s) => s.kind === 'CONSUMER');
      expect(process?.span.name, tree).toMatch(/^process /);
      expect(process!.span.resource['service.name']).toBe('media-cluster-worker');
      expect(process!.span.links.map((l) => l.spanId)).toContain(send!.span.spanId);
      expect(process!.span.attributes['media_cluster.job_id']).toBe(jobId);

      const stageNames = process!.children.map((c) => c.span.name);
      for (const stage of ['embed', 'cluster', 'select_heroes', 'postgres.write'])
        expect(stageNames, tree).toContain(stage);
      const write = process!.children.find((c) => c.span.name === 'postgres.write')!;
      expect(
        write.children.some(
          (c) =>
            c.span.attributes['db.system'] === 'postgresql' ||
            c.span.attributes['db.system.name'] === 'postgresql',
        ),
        tree,
      ).toBe(true);
      const webhook = findNode(
        process!.children,
        (s) => s.kind === 'CLIENT' && s.attributes['http.request.method'] === 'POST',
      );
      expect(webhook, tree).toBeDefined();
      expect(String(run.hook.headers.traceparent)).toContain(webhook!.span.spanId);

      const embed = process!.children.find((c) => c.span.name === 'embed')!;
      expect(embed.span.attributes['media_cluster.photo_count']).toBe(manifest.files.length);
      expect(embed.span.events.filter((e) => e.name === 'photo.embedded')).toHaveLength(
        manifest.files.length,
      );
    });

    it('no span attribute, metric label or log line holds a raw pet id, the API key, the callback query or image bytes', async () => {
      const forbidden = [petId, KEY, 'callback-secret-q'];
      const leaks = await telemetryLeaks({
        receiver: otlp,
        forbidden,
        services: ['media-cluster-api', 'media-cluster-worker'],
        spans: [{ traceId: run.traceId, name: /^process / }],
        stdout: () => [...api!.logs(), ...worker!.logs()],
      });
      expect(leaks).toEqual([]);
      for (const page of run.metricsPages) {
        expect(page).toMatch(/media_cluster_/);
        for (const secret of forbidden) expect(page.includes(secret)).toBe(false);
        expect(imageMarkersIn(page)).toEqual([]);
      }
    });

    it('worker logs job_completed with per-stage timings and the trace id', () => {
      const done = worker!.logs().find((l) => l.event === 'job_completed' && l.job_id === run.jobId);
      expect(done).toBeDefined();
      const stages = ['embed_ms', 'cluster_ms', 'select_heroes_ms', 'postgres_write_ms'];
      for (const key of [...stages, 'total_ms']) expect(typeof done![key]).toBe('number');
      // Embedding 48 photos takes time; the total covers every stage.
      expect(done!.embed_ms as number).toBeGreaterThan(0);
      for (const key of stages) expect(done!.total_ms as number).toBeGreaterThanOrEqual(done![key] as number);
      expect(done!.photo_count).toBe(manifest.files.length);
      expect(done!.trace_id).toBe(run.traceId);
    });

    it('both processes stop cleanly on SIGTERM', () => {
      expect(run.apiExit).toEqual({ code: 0, signal: null });
      expect(run.workerExit).toEqual({ code: 0, signal: null });
    });
  });
});
