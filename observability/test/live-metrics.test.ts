// Every dashboard query and every recording rule against a REAL Prometheus that
// scrapes the REAL api and worker processes (built dist, started the way compose
// starts them) after a real workload: uploads, clustering jobs with webhooks,
// status polls with ETags, auth failures, an owner-isolation denial and an
// idempotency conflict. Needs the build: `pnpm turbo run build --filter=@media-cluster/api... --filter=@media-cluster/worker...`
// (`npm test` builds first).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  createTestSchema,
  freePort,
  makeTempDir,
  type OtlpReceiver,
  type PrometheusHandle,
  type PromSample,
  removeTempDir,
  type Spawned,
  spawnTracked,
  startOtlpReceiver,
  startPrometheus,
  stopProcess,
  type TestSchema,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { buildDashboards } from '../src/dashboards/build.js';
import { expandGrafanaVariables, panelQueries } from '../src/dashboards/panel-queries.js';
import { repoPath } from './support.js';

const API_ENTRY = repoPath('services/api/dist/index.js');
const WORKER_ENTRY = repoPath('services/worker/dist/index.js');
const REGISTER = repoPath('packages/telemetry/dist/register.js');
const PHOTOS_DIR = repoPath('services/api/demo-photos');
const KEY = 'live-metrics-key-1';
const OTHER_KEY = 'live-metrics-key-2';
/** What Grafana's $__rate_interval becomes here: wide enough that the workload stays in the window. */
const RATE_WINDOW = '5m';

let otlp: OtlpReceiver;
let schema: TestSchema;
let photoDir: string;
let rulesDir: string;
let webhook: Server;
let webhookHits = 0;
let api: Spawned;
let worker: Spawned;
let prometheus: PrometheusHandle;
let apiPort: number;
const apiUrl = () => `http://127.0.0.1:${apiPort}`;
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

function spawnService(entry: string, env: Record<string, string>): Spawned {
  return spawnTracked(process.execPath, ['--import', REGISTER, entry], {
    env: {
      ...process.env,
      ...otlp.exporterEnv(),
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

async function waitReady(proc: Spawned, url: string, what: string) {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${what} exited: ${proc.output()}`);
      return (await fetch(url).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: 60_000, what },
  );
}

/**
 * The repo's rule files, copied with every group evaluated at the test's pace:
 * the 30-day budget group runs every 5 min in production and would otherwise
 * not evaluate within the test. Expressions are untouched.
 */
function testRuleFiles(): string[] {
  const src = repoPath('observability/prometheus/rules');
  return readdirSync(src)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => {
      const text = readFileSync(join(src, f), 'utf8').replace(/^(\s+)interval: \S+$/gm, '$1interval: 1s');
      const out = join(rulesDir, f);
      writeFileSync(out, text);
      return out;
    });
}

const step = (what: string) => process.env.LIVE_DEBUG && process.stderr.write(`[live] ${what}\n`);

async function workload(round: number) {
  const photos = readdirSync(PHOTOS_DIR).filter((f) => /\.(jpe?g|png|webp)$/.test(f));
  const groups = [...new Set(photos.map((f) => f.replace(/-\d+\.\w+$/, '')))].slice(0, 2);
  const jobs: string[] = [];
  for (const group of groups) {
    const petId = uniqueName(`pet-${group}-${round}`);
    const form = new FormData();
    for (const f of photos.filter((p) => p.startsWith(`${group}-`))) {
      form.append('photos', new Blob([readFileSync(join(PHOTOS_DIR, f))]), f);
    }
    const upload = await fetch(`${apiUrl()}/v1/pets/${petId}/photos`, {
      method: 'POST',
      body: form,
      headers: auth(),
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const body = JSON.stringify({
      callbackUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
    });
    const headers = { ...auth(), 'content-type': 'application/json', 'idempotency-key': `live-${petId}` };
    const created = await fetch(`${apiUrl()}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers,
      body,
    });
    expect(created.status, await created.clone().text()).toBe(202);
    jobs.push(((await created.json()) as { jobId: string }).jobId);
    // Same key, other body: 409, counted as an idempotency conflict.
    const conflict = await fetch(`${apiUrl()}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        callbackUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/other`,
      }),
    });
    expect(conflict.status, await conflict.clone().text()).toBe(409);
    // Another owner's pet: 404 (owner isolation).
    const foreign = await fetch(`${apiUrl()}/v1/pets/${petId}/clusters`, { headers: auth(OTHER_KEY) });
    expect(foreign.status).toBe(404);
  }
  // Missing and invalid keys: 401.
  expect((await fetch(`${apiUrl()}/v1/jobs/${jobs[0]}`)).status).toBe(401);
  expect((await fetch(`${apiUrl()}/v1/jobs/${jobs[0]}`, { headers: auth('not-a-valid-key') })).status).toBe(
    401,
  );
  // Poll like a good client (If-None-Match) until every job is done.
  for (const jobId of jobs) {
    let etag: string | undefined;
    await waitFor(
      async () => {
        const res = await fetch(`${apiUrl()}/v1/jobs/${jobId}`, {
          headers: { ...auth(), ...(etag ? { 'if-none-match': etag } : {}) },
        });
        if (res.status === 304) return false;
        etag = res.headers.get('etag') ?? undefined;
        const { status } = (await res.json()) as { status: string };
        if (status === 'dead_lettered') throw new Error(`job ${jobId} dead-lettered: ${worker.output()}`);
        return status === 'succeeded';
      },
      { timeoutMs: 90_000, intervalMs: 200, what: `job ${jobId} to succeed` },
    );
    // A few more polls of the finished job: all 304.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${apiUrl()}/v1/jobs/${jobId}`, {
        headers: { ...auth(), 'if-none-match': etag! },
      });
      expect(res.status).toBe(304);
    }
  }
  step(`jobs done, webhooks so far ${webhookHits}`);
  await waitFor(() => webhookHits >= jobs.length * round, { timeoutMs: 30_000, what: 'the webhooks' });
}

beforeAll(async () => {
  for (const entry of [API_ENTRY, WORKER_ENTRY, REGISTER]) {
    if (!existsSync(entry)) {
      throw new Error(
        `${entry} is missing: run pnpm turbo run build --filter=@media-cluster/api... --filter=@media-cluster/worker...`,
      );
    }
  }
  otlp = await startOtlpReceiver();
  schema = await createTestSchema(inject('databaseUrl'));
  photoDir = makeTempDir('live-photos');
  rulesDir = makeTempDir('live-rules');
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      webhookHits++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const webhookHost = `127.0.0.1:${(webhook.address() as AddressInfo).port}`;

  const queuePrefix = uniqueName('live-metrics');
  const shared = {
    REDIS_URL: inject('redisUrl'),
    DATABASE_URL: schema.url,
    QUEUE_PREFIX: queuePrefix,
    PHOTO_DIR: photoDir,
    // host:port for the api's check, the bare host for the worker's (it compares hostnames only).
    CALLBACK_ALLOWED_HOSTS: `${webhookHost},127.0.0.1`,
  };
  [apiPort] = [await freePort()];
  const apiMetricsPort = await freePort();
  const workerMetricsPort = await freePort();
  api = spawnService(API_ENTRY, {
    ...shared,
    OTEL_SERVICE_NAME: 'media-cluster-api',
    PORT: String(apiPort),
    METRICS_PORT: String(apiMetricsPort),
    API_KEYS: `${KEY}:owner-1,${OTHER_KEY}:owner-2`,
  });
  await waitReady(api, `${apiUrl()}/ready`, 'the api to be ready');
  step('api ready');
  worker = spawnService(WORKER_ENTRY, {
    ...shared,
    OTEL_SERVICE_NAME: 'media-cluster-worker',
    WORKER_METRICS_PORT: String(workerMetricsPort),
    PUBLIC_API_URL: apiUrl(),
  });
  await waitReady(worker, `http://127.0.0.1:${workerMetricsPort}/ready`, 'the worker to be ready');
  step('worker ready');

  // Job names as in observability/prometheus/prometheus.yml (= the services' OTEL_SERVICE_NAME).
  prometheus = await startPrometheus({
    scrapeTargets: [
      { job: 'media-cluster-api', targets: [`127.0.0.1:${apiMetricsPort}`] },
      { job: 'media-cluster-worker', targets: [`127.0.0.1:${workerMetricsPort}`] },
    ],
    ruleFiles: testRuleFiles(),
    scrapeIntervalMs: 1_000,
  });
  step('prometheus up');
  // rate() needs a series to change between two scrapes it has seen: scrape both
  // services before any traffic, then run the workload twice, letting Prometheus
  // scrape round 1 (which creates the histogram series) before round 2 moves them.
  await prometheus.waitForQuery(
    'up{job=~"media-cluster-api|media-cluster-worker"} == 1',
    (s) => s.length === 2,
    {
      timeoutMs: 30_000,
    },
  );
  await workload(1);
  await prometheus.waitForQuery('sum(media_cluster_webhook_delivery_seconds_count) >= 2', undefined, {
    timeoutMs: 30_000,
  });
  await workload(2);
  step('workload done');
  await prometheus.waitForQuery('sum(media_cluster_webhook_delivery_seconds_count) >= 4', undefined, {
    timeoutMs: 30_000,
  });
  await prometheus.waitForQuery('sum(media_cluster_jobs_total{status="succeeded"}) >= 4', undefined, {
    timeoutMs: 30_000,
  });
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([
    worker && stopProcess(worker, 'SIGTERM', 15_000),
    api && stopProcess(api, 'SIGTERM', 15_000),
  ]);
  await new Promise((resolve) => webhook?.close(resolve));
  await otlp?.stop();
  await schema?.drop();
  if (photoDir) removeTempDir(photoDir);
  if (rulesDir) removeTempDir(rulesDir);
}, 60_000);

const hasNumber = (samples: PromSample[]) => samples.some((s) => Number.isFinite(s.value));
const queries = panelQueries(buildDashboards().map((d) => d.json));

describe('dashboards and rules against the real services', () => {
  it.each(
    queries.filter((q) => !q.needsCollector).map((q) => [`${q.dashboard} / ${q.panel} / ${q.refId}`, q]),
  )('%s returns data', async (_name, q) => {
    const expr = expandGrafanaVariables(q.expr, RATE_WINDOW);
    const samples = await prometheus.waitForQuery(expr, hasNumber, { timeoutMs: 10_000 });
    expect(samples.length).toBeGreaterThan(0);
  });

  it('only the spanmetrics panels are left out (no collector here; the Jaeger/collector tests cover their names)', () => {
    const skipped = queries.filter((q) => q.needsCollector);
    expect(skipped.every((q) => q.expr.includes('traces_span_metrics_'))).toBe(true);
    expect(skipped.length).toBeLessThanOrEqual(2);
  });

  const recordNames = readdirSync(repoPath('observability/prometheus/rules'))
    .filter((f) => f.endsWith('.yml'))
    .flatMap((f) =>
      (
        parse(readFileSync(repoPath('observability/prometheus/rules', f), 'utf8')) as {
          groups: { rules: { record?: string }[] }[];
        }
      ).groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
    );

  it.each(recordNames)('recording rule %s evaluates to data', async (name) => {
    const samples = await prometheus.waitForQuery(name, hasNumber, { timeoutMs: 10_000 });
    expect(samples.length).toBeGreaterThan(0);
  });

  it('every rule (alerts included) evaluates without error on real series', async () => {
    await waitFor(
      async () => {
        const groups = await prometheus.rules();
        const all = groups.flatMap((g) => g.rules);
        // "unknown" until a rule's first evaluation.
        return all.length > 0 && all.every((r) => r.health !== 'unknown');
      },
      { timeoutMs: 20_000, what: 'every rule to be evaluated once' },
    );
    const rules = (await prometheus.rules()).flatMap((g) => g.rules);
    const bad = rules
      .filter((r) => r.health !== 'ok')
      .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    expect(bad).toEqual([]);
    expect(rules.length).toBe(recordNames.length + 19);
  });

  it('a healthy run fires no page (critical alert)', async () => {
    const alerts = await prometheus.alerts();
    const critical = alerts.filter((a) => a.labels.severity === 'critical');
    expect(critical.map((a) => a.labels.alertname)).toEqual([]);
  });
});
