// Issue 5 end to end: api and worker as real processes (built dist, loaded with
// the telemetry register hook), real Redis/Postgres, spans through testkit's
// OTLP receiver. Upload the labelled set, run a job with a callback, and check
// the ONE trace from the HTTP request to the webhook. Twice: on one Redis, and
// on the run's Redis Cluster with the queue in 3 shards (issue 16).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adjustedRandIndex } from '@media-cluster/clustering';
import {
  createTestSchema,
  freePort,
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
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
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
  }, 90_000);

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

  describe('upload → job → clusters, one trace', () => {
    let jobId: string;
    let traceId: string;
    const idToFile = new Map<string, ManifestFile>();

    it('uploads the labelled set and creates a job', async () => {
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
      expect(upload.status).toBe(201);
      const { photos } = (await upload.json()) as { photos: { id: string; sha256: string }[] };
      expect(photos).toHaveLength(manifest.files.length);
      for (const p of photos) idToFile.set(p.id, manifest.files.find((f) => f.sha256 === p.sha256)!);

      const hookPort = (hooks.address() as AddressInfo).port;
      const created = await fetch(`${apiUrl}/v1/pets/${petId}/clustering-jobs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': uniqueName('idem') },
        body: JSON.stringify({ callbackUrl: `http://127.0.0.1:${hookPort}/hook?token=callback-secret-q` }),
      });
      expect(created.status).toBe(202);
      const body = (await created.json()) as { jobId: string; traceId: string; status: string };
      expect(body.status).toBe('queued');
      expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
      jobId = body.jobId;
      traceId = body.traceId;
    });

    it('the job succeeds and the clusters match the labelled groups', async () => {
      const job = await waitFor(
        async () => {
          const res = await fetch(`${apiUrl}/v1/jobs/${jobId}`, { headers: auth });
          const j = (await res.json()) as { status: string; error: string | null };
          if (j.status === 'dead_lettered') throw new Error(`job dead-lettered: ${j.error}`);
          return j.status === 'succeeded' ? j : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: 'the job to succeed' },
      );
      expect(job).toMatchObject({ status: 'succeeded', attempts: 1, traceId });

      const res = await fetch(`${apiUrl}/v1/pets/${petId}/clusters`, { headers: auth });
      expect(res.status).toBe(200);
      const { clusters } = (await res.json()) as { clusters: { heroPhotoId: string; photoIds: string[] }[] };
      const truth = new Map([...idToFile].map(([id, f]) => [id, f.group]));
      expect(clusters.flatMap((c) => c.photoIds).sort()).toEqual([...truth.keys()].sort());
      expect(
        adjustedRandIndex(
          clusters.map((c) => ({ ids: c.photoIds })),
          truth,
        ),
      ).toBeGreaterThanOrEqual(0.95);
      for (const c of clusters) expect(idToFile.get(c.heroPhotoId)!.sharp).toBe(true);
    });

    it('the webhook arrives inside the job trace', async () => {
      const call = await waitFor(() => hookCalls[0], { timeoutMs: 10_000, what: 'the webhook' });
      expect(call.body).toEqual({
        jobId,
        status: 'succeeded',
        clustersUrl: `${apiUrl}/v1/pets/${petId}/clusters`,
      });
      expect(String(call.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    });

    it('one trace: HTTP server → send → process → stages (pg beneath postgres.write) → webhook client', async () => {
      await otlp.waitForSpans({ traceId, where: (s) => s.name === 'postgres.write' }, { timeoutMs: 30_000 });
      // The webhook's CLIENT span ends last; wait for it too.
      await otlp.waitForSpans(
        { traceId, where: (s) => s.kind === 'CLIENT' && s.attributes['http.request.method'] === 'POST' },
        { timeoutMs: 30_000 },
      );
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
      expect(String(hookCalls[0]!.headers.traceparent)).toContain(webhook!.span.spanId);

      const embed = process!.children.find((c) => c.span.name === 'embed')!;
      expect(embed.span.attributes['media_cluster.photo_count']).toBe(manifest.files.length);
      expect(embed.span.events.filter((e) => e.name === 'photo.embedded')).toHaveLength(
        manifest.files.length,
      );
    });

    it('no span attribute, metric label or log line holds a raw pet id, the API key, the callback query or image bytes', async () => {
      await otlp.waitForMetric('media_cluster_photos_processed', { timeoutMs: 10_000 });
      const forbidden = [petId, KEY, 'callback-secret-q'];
      const texts: string[] = [];
      for (const s of otlp.spans) {
        texts.push(s.name, JSON.stringify(s.attributes), JSON.stringify(s.events));
        for (const v of Object.values(s.attributes)) {
          if (typeof v === 'string') expect(v.length, `attribute on ${s.name}`).toBeLessThan(4096);
        }
      }
      for (const m of otlp.metrics) texts.push(JSON.stringify(m.dataPoints.map((d) => d.attributes)));
      for (const l of otlp.logs) texts.push(JSON.stringify(l.body), JSON.stringify(l.attributes));
      for (const line of [...api!.logs(), ...worker!.logs()]) texts.push(JSON.stringify(line));
      const all = texts.join('\n');
      for (const secret of forbidden)
        expect(all.includes(secret), `telemetry contains ${secret}`).toBe(false);

      for (const port of [apiMetricsPort, workerMetricsPort]) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const secret of forbidden) expect(text.includes(secret)).toBe(false);
      }
    });

    it('worker logs job_completed with per-stage timings and the trace id', () => {
      const done = worker!.logs().find((l) => l.event === 'job_completed' && l.job_id === jobId);
      expect(done).toBeDefined();
      for (const key of ['embed_ms', 'cluster_ms', 'select_heroes_ms', 'postgres_write_ms', 'total_ms']) {
        expect(typeof done![key]).toBe('number');
      }
      expect(done!.photo_count).toBe(manifest.files.length);
      expect(done!.trace_id).toBe(traceId);
    });

    it('both processes stop cleanly on SIGTERM', async () => {
      const [a, w] = await Promise.all([api!.stop(), worker!.stop()]);
      expect(a).toEqual({ code: 0, signal: null });
      expect(w).toEqual({ code: 0, signal: null });
    });
  });
});
