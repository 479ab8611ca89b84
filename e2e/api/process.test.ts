// The api as a real process (`node --import @media-cluster/telemetry/register dist/index.js`),
// as `npm start` and compose run it. Needs the build (`npm test` builds first).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  createTestSchema,
  freePort,
  makeTempDir,
  type OtlpReceiver,
  removeTempDir,
  type Spawned,
  spawnTracked,
  startOtlpReceiver,
  stopProcess,
  type TestSchema,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../../services/api/dist/index.js', import.meta.url));
// The built entry (vitest itself resolves workspace packages to their TS sources).
const REGISTER = fileURLToPath(
  new URL('../../services/api/node_modules/@media-cluster/telemetry/dist/register.js', import.meta.url),
);
const KEY = 'process-test-key-1';
const PHOTO = readFileSync(new URL('../../services/api/demo-photos/chelsea-01.jpg', import.meta.url));
const auth = { authorization: `Bearer ${KEY}` };

let otlp: OtlpReceiver;
let schema: TestSchema;
let dir: string;
let api: Spawned;
let port: number;
let metricsPort: number;
const base = () => `http://127.0.0.1:${port}`;

beforeAll(async () => {
  if (!existsSync(ENTRY))
    throw new Error(`${ENTRY} is missing: run \`pnpm turbo run build --filter=@media-cluster/api...\``);
  otlp = await startOtlpReceiver();
  schema = await createTestSchema(inject('databaseUrl'));
  dir = makeTempDir('api-process');
  [port, metricsPort] = [await freePort(), await freePort()];
  api = spawnTracked(process.execPath, ['--import', REGISTER, ENTRY], {
    env: {
      ...process.env,
      ...otlp.exporterEnv(),
      OTEL_SERVICE_NAME: 'media-cluster-api',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: schema.url,
      QUEUE_PREFIX: uniqueName('api-process'),
      API_KEYS: `${KEY}:owner-1`,
      PHOTO_DIR: dir,
      SHUTDOWN_GRACE_MS: '10000',
    },
  });
  await waitFor(
    async () => {
      if (api.child.exitCode !== null) throw new Error(`api exited: ${api.output()}`);
      return (await fetch(`${base()}/ready`).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: 30_000, what: 'the api process to be ready' },
  );
});

afterAll(async () => {
  if (api) await stopProcess(api, 'SIGKILL');
  await otlp?.stop();
  await schema?.drop();
  if (dir) removeTempDir(dir);
});

describe('api process', () => {
  it('answers with traceresponse of its HTTP server span, which carries the route, never the pet id', async () => {
    const petId = 'pet-process-7f3a';
    const form = new FormData();
    form.append('photos', new Blob([PHOTO]), 'a.jpg');
    const upload = await fetch(`${base()}/v1/pets/${petId}/photos`, {
      method: 'POST',
      body: form,
      headers: auth,
    });
    expect(upload.status).toBe(201);
    const job = await fetch(`${base()}/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(job.status).toBe(202);
    const body = (await job.json()) as { traceId: string };
    const [, traceId, spanId] = job.headers.get('traceresponse')!.split('-');
    expect(body.traceId).toBe(traceId);

    const [server] = await otlp.waitForSpans(
      { traceId, where: (s) => s.spanId === spanId },
      { timeoutMs: 15_000 },
    );
    expect(server).toMatchObject({
      kind: 'SERVER',
      name: 'POST /v1/pets/:petId/clustering-jobs',
      attributes: expect.objectContaining({ 'http.route': '/v1/pets/:petId/clustering-jobs' }),
      resource: expect.objectContaining({ 'service.name': 'media-cluster-api' }),
    });
    await otlp.waitForSpans({ traceId, name: /^send / }, { timeoutMs: 15_000 });
    const everything = JSON.stringify(otlp.spans.filter((s) => s.traceId === traceId));
    expect(everything).not.toContain(petId);
    expect(everything).not.toContain(KEY);
  });

  it('serves its metric families on METRICS_PORT from start-up', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const family of [
      'media_cluster_jobs_total{status="queued"',
      'media_cluster_auth_failures_total{reason="missing_key"',
      'media_cluster_idempotency_conflicts_total',
      'media_cluster_status_poll_304_total',
      'media_cluster_status_polls_total',
      'http_server_request_duration_seconds_bucket',
    ]) {
      expect(text).toContain(family);
    }
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/ready`);
    expect(ready.status).toBe(200);
  });

  it('on SIGTERM stops accepting, finishes the in-flight upload, then exits 0', async () => {
    // Start an upload and hold it open half-way.
    const boundary = 'b0undary';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="photos"; filename="slow.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    let inFlight: ReturnType<typeof httpRequest> | undefined;
    let written!: () => void;
    const headSent = new Promise<void>((resolve) => {
      written = resolve;
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v1/pets/slow-pet/photos',
          headers: {
            ...auth,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': Buffer.byteLength(head) + PHOTO.length + Buffer.byteLength(tail),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write(head);
      req.write(PHOTO.subarray(0, 1000), () => written());
      inFlight = req;
    });
    await headSent;
    // Connections are accepted in order: once a later one is answered, the upload's is in the server's hands.
    expect((await fetch(`${base()}/health`)).status).toBe(200);

    api.child.kill('SIGTERM');
    await waitFor(
      async () =>
        await fetch(`${base()}/health`).then(
          () => false,
          () => true,
        ),
      {
        timeoutMs: 10_000,
        what: 'the api to stop accepting connections',
      },
    );
    inFlight!.end(Buffer.concat([PHOTO.subarray(1000), Buffer.from(tail)]));
    const done = await response;
    expect(done.status).toBe(201);
    expect(JSON.parse(done.body).photos).toHaveLength(1);

    const exit = await api.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(api.output()).toContain('"event":"shutdown_complete"');
  });
});
