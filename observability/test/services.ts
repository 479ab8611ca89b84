// The api and the worker as real processes (built dist, started with the telemetry
// register hook as compose does), for the tests on the real observability stack,
// and the workload that gives every dashboard panel and rule something to show:
// uploads, jobs with webhooks, ETag polls, auth failures, an owner-isolation denial
// and an idempotency conflict. `npm test` builds first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  createTestSchema,
  freePort,
  makeTempDir,
  removeTempDir,
  type ServiceHandle,
  type ServiceProcess,
  spawnService,
  startRedis,
  type TestSchema,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { expect } from 'vitest';
import { repoPath } from './support.js';

export const KEY = 'stack-test-key-1';
export const OTHER_KEY = 'stack-test-key-2';
export const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });
const PHOTOS_DIR = repoPath('services/api/demo-photos');

export interface WebhookCall {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Services {
  api: ServiceProcess;
  worker: ServiceProcess;
  apiUrl: string;
  /** `host:port` of each /metrics, for the stack's Prometheus. */
  targets: { api: string[]; worker: string[] };
  webhookUrl: string;
  webhookCalls: WebhookCall[];
  /** Pet ids used so far: none may appear in any telemetry. */
  petIds: string[];
  stop(): Promise<void>;
}

export interface ServicesOptions {
  /** OTEL_* variables pointing at the collector. */
  otlpEnv: Record<string, string>;
  databaseUrl: string;
  env?: Record<string, string>;
}

/**
 * A private Redis (so the queue has compose's default names, `media-cluster:jobs`,
 * which the dashboards and Jaeger queries use), a fresh schema, a webhook
 * receiver, then the api and one worker exporting to `otlpEnv`.
 */
export async function startServices(options: ServicesOptions): Promise<Services> {
  for (const entry of ['services/api/dist/index.js', 'services/worker/dist/index.js']) {
    if (!existsSync(repoPath(entry))) throw new Error(`${entry} is missing: build first (npm test does)`);
  }
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  try {
    const redis: ServiceHandle = await startRedis({ appendOnly: false });
    cleanups.push(() => redis.stop());
    const schema: TestSchema = await createTestSchema(options.databaseUrl);
    cleanups.push(() => schema.drop());
    const photoDir = makeTempDir('stack-photos');
    cleanups.push(() => removeTempDir(photoDir));
    const webhookCalls: WebhookCall[] = [];
    const webhook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        webhookCalls.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          webhook.closeAllConnections();
          webhook.close(resolve);
        }),
    );
    const webhookHost = `127.0.0.1:${(webhook.address() as AddressInfo).port}`;
    const [apiPort, apiMetricsPort, workerMetricsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const common = {
      ...options.otlpEnv,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      REDIS_URL: redis.url,
      DATABASE_URL: schema.url,
      PHOTO_DIR: photoDir,
      CALLBACK_ALLOWED_HOSTS: `${webhookHost},127.0.0.1`,
      LOG_LEVEL: 'warn',
      ...options.env,
    };
    const api = await spawnService({
      entry: repoPath('services/api/dist/index.js'),
      packageDir: repoPath('services/api'),
      readyUrl: `${apiUrl}/ready`,
      readyTimeoutMs: 60_000,
      env: {
        ...common,
        OTEL_SERVICE_NAME: 'media-cluster-api',
        PORT: String(apiPort),
        METRICS_PORT: String(apiMetricsPort),
        API_KEYS: `${KEY}:owner-1,${OTHER_KEY}:owner-2`,
      },
    });
    cleanups.push(() => api.stop());
    const worker = await spawnService({
      entry: repoPath('services/worker/dist/index.js'),
      packageDir: repoPath('services/worker'),
      readyUrl: `http://127.0.0.1:${workerMetricsPort}/ready`,
      readyTimeoutMs: 60_000,
      env: {
        ...common,
        OTEL_SERVICE_NAME: 'media-cluster-worker',
        WORKER_METRICS_PORT: String(workerMetricsPort),
        PUBLIC_API_URL: apiUrl,
      },
    });
    cleanups.push(() => worker.stop());
    return {
      api,
      worker,
      apiUrl,
      targets: { api: [`127.0.0.1:${apiMetricsPort}`], worker: [`127.0.0.1:${workerMetricsPort}`] },
      webhookUrl: `http://${webhookHost}/hook`,
      webhookCalls,
      petIds: [],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Uploads the demo photos of `group` for a new pet; returns the pet id. */
export async function uploadPet(services: Services, group: string, label: string): Promise<string> {
  const petId = uniqueName(`pet-${label}`);
  services.petIds.push(petId);
  const form = new FormData();
  for (const f of readdirSync(PHOTOS_DIR).filter((p) => p.startsWith(`${group}-`))) {
    form.append('photos', new Blob([readFileSync(join(PHOTOS_DIR, f))]), f);
  }
  const res = await fetch(`${services.apiUrl}/v1/pets/${petId}/photos`, {
    method: 'POST',
    body: form,
    headers: auth(),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return petId;
}

/** Polls a job like a good client (If-None-Match) until it succeeds; then a few 304s. */
export async function waitForJob(services: Services, jobId: string): Promise<void> {
  let etag: string | undefined;
  await waitFor(
    async () => {
      const res = await fetch(`${services.apiUrl}/v1/jobs/${jobId}`, {
        headers: { ...auth(), ...(etag ? { 'if-none-match': etag } : {}) },
      });
      if (res.status === 304) return false;
      etag = res.headers.get('etag') ?? undefined;
      const { status } = (await res.json()) as { status: string };
      if (status === 'dead_lettered')
        throw new Error(`job ${jobId} dead-lettered: ${services.worker.output()}`);
      return status === 'succeeded';
    },
    { timeoutMs: 90_000, intervalMs: 200, what: `job ${jobId} to succeed` },
  );
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${services.apiUrl}/v1/jobs/${jobId}`, {
      headers: { ...auth(), 'if-none-match': etag! },
    });
    expect(res.status).toBe(304);
  }
}

/**
 * One round of traffic: per demo group a pet, a job with a webhook (Idempotency-Key),
 * the same key with another body (409), another owner's read (404); two 401s; ETag
 * polls until done. Returns the jobs with their trace ids.
 */
export async function workload(services: Services, round: number) {
  const photos = readdirSync(PHOTOS_DIR).filter((f) => /\.(jpe?g|png|webp)$/.test(f));
  const groups = [...new Set(photos.map((f) => f.replace(/-\d+\.\w+$/, '')))].slice(0, 2);
  const jobs: { jobId: string; traceId: string; petId: string }[] = [];
  for (const group of groups) {
    const petId = await uploadPet(services, group, `${group}-${round}`);
    const headers = { ...auth(), 'content-type': 'application/json', 'idempotency-key': `stack-${petId}` };
    const created = await fetch(`${services.apiUrl}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ callbackUrl: services.webhookUrl }),
    });
    expect(created.status, await created.clone().text()).toBe(202);
    const { jobId, traceId } = (await created.json()) as { jobId: string; traceId: string };
    jobs.push({ jobId, traceId, petId });
    const conflict = await fetch(`${services.apiUrl}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ callbackUrl: `${services.webhookUrl}?other=1` }),
    });
    expect(conflict.status, await conflict.clone().text()).toBe(409);
    const foreign = await fetch(`${services.apiUrl}/v1/pets/${petId}/clusters`, { headers: auth(OTHER_KEY) });
    expect(foreign.status).toBe(404);
  }
  expect((await fetch(`${services.apiUrl}/v1/jobs/${jobs[0]!.jobId}`)).status).toBe(401);
  const invalid = await fetch(`${services.apiUrl}/v1/jobs/${jobs[0]!.jobId}`, {
    headers: auth('not-a-valid-key'),
  });
  expect(invalid.status).toBe(401);
  for (const job of jobs) await waitForJob(services, job.jobId);
  const expected = jobs.length * round;
  await waitFor(() => services.webhookCalls.length >= expected, { timeoutMs: 30_000, what: 'the webhooks' });
  return jobs;
}
