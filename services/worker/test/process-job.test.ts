// The job handler as the queue calls it, in this process: real Postgres (a schema of its own), the
// labelled photo set in a blob store, the real embedder pool. Spans and metrics go to in-memory
// readers, so the stages' telemetry is checked here without spawning the services.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { adjustedRandIndex, createEmbedderPool, type EmbedderPool } from '@media-cluster/clustering';
import {
  type BlobStore,
  createFsBlobStore,
  createJob,
  ensurePetOwner,
  getJob,
  getJobClusters,
  insertPhotos,
  migrate,
} from '@media-cluster/db';
import type { JobMessage } from '@media-cluster/queue';
import {
  ATTR_CLUSTER_COUNT,
  ATTR_JOB_ID,
  ATTR_PHOTO_COUNT,
  EVENT_PHOTO_EMBEDDED,
  EVENT_PHOTO_FAILED,
  SPAN_CLUSTER,
  SPAN_EMBED,
  SPAN_POSTGRES_WRITE,
  SPAN_SELECT_HEROES,
  WORKER_METRICS,
} from '@media-cluster/semconv';
import {
  createTestSchema,
  makeTempDir,
  PHOTO_FIXTURES_DIR,
  removeTempDir,
  type TestSchema,
  uniqueName,
} from '@media-cluster/testkit';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createWorkerMetrics } from '../src/metrics.js';
import { createJobHandler } from '../src/process-job.js';

interface ManifestFile {
  file: string;
  group: string;
  sha256: string;
}
const manifest = JSON.parse(readFileSync(`${PHOTO_FIXTURES_DIR}/clusters/manifest.json`, 'utf8')) as {
  files: ManifestFile[];
};

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const meterProvider = new MeterProvider({ readers: [reader] });

let schema: TestSchema;
let db: pg.Pool;
let blobDir: string;
let blobs: BlobStore;
let pool: EmbedderPool;
let handler: (job: JobMessage) => Promise<void>;
const lines: Record<string, unknown>[] = [];
const owner = 'alice';
const petId = `pet-${uniqueName('inproc').slice(-10)}`;
/** Photo id by fixture file. */
const photoIds = new Map<string, string>();

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  schema = await createTestSchema(inject('databaseUrl'));
  db = new pg.Pool({ connectionString: schema.url, max: 4 });
  await migrate(db);
  blobDir = makeTempDir('inproc-blobs');
  blobs = createFsBlobStore({ dir: blobDir });
  await ensurePetOwner(db, petId, owner);
  const stored = await insertPhotos(
    db,
    petId,
    manifest.files.map((f) => ({
      sha256: f.sha256,
      width: 64,
      height: 64,
      bytes: 1,
      contentType: f.file.endsWith('.png')
        ? 'image/png'
        : f.file.endsWith('.webp')
          ? 'image/webp'
          : 'image/jpeg',
    })),
  );
  for (const [i, f] of manifest.files.entries()) {
    photoIds.set(f.file, stored[i]!.id);
    await blobs.put(f.sha256, readFileSync(`${PHOTO_FIXTURES_DIR}/${f.file}`));
  }

  pool = createEmbedderPool();
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  handler = createJobHandler({
    db,
    blobs,
    embedder: pool,
    metrics: createWorkerMetrics(pool.modelVersion),
    logger,
    embedConcurrency: 4,
    maxJobPhotos: 500,
    webhook: { allowedHosts: [], timeoutMs: 1_000, maxAttempts: 1, publicApiUrl: 'http://127.0.0.1:1' },
  });
}, 120_000);

afterAll(async () => {
  await pool?.close();
  await db?.end();
  await schema?.drop();
  if (blobDir) removeTempDir(blobDir);
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  trace.disable();
  metrics.disable();
  context.disable();
});

beforeEach(() => {
  spans.reset();
  lines.length = 0;
});

async function newJob(ids: string[]) {
  const { job } = await createJob(db, { petId, owner, photoIds: ids });
  const message: JobMessage = {
    jobId: job.id,
    payload: undefined,
    partitionKey: petId,
    attempt: 1,
    enqueuedAt: Date.now(),
    messageId: '1-0',
    shard: 0,
    deliveryCount: 1,
  };
  return message;
}

async function histogramCount(name: string): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).reduce((n, p) => n + ((p.value as { count?: number }).count ?? 0), 0);
}

describe('the job handler, in process', () => {
  it('clusters the labelled set as labelled, writes the result once and tells the stages apart', async () => {
    const writesBefore = await histogramCount(WORKER_METRICS.postgresWrite.name);
    const job = await newJob([...photoIds.values()]);
    await handler(job);

    const stored = await getJob(db, job.jobId);
    expect(stored).toMatchObject({ status: 'succeeded', attempts: 1 });
    const clusters = await getJobClusters(db, job.jobId);
    const fileOf = new Map([...photoIds].map(([file, id]) => [id, file]));
    const truth = new Map(manifest.files.map((f) => [photoIds.get(f.file)!, f.group]));
    expect(
      adjustedRandIndex(
        clusters.map((c) => ({ ids: c.photoIds })),
        truth,
      ),
    ).toBe(1);
    expect(
      clusters
        .flatMap((c) => c.photoIds)
        .map((id) => fileOf.get(id))
        .sort(),
    ).toEqual(manifest.files.map((f) => f.file).sort());

    const byName = new Map(spans.getFinishedSpans().map((s) => [s.name, s]));
    for (const name of [SPAN_EMBED, SPAN_CLUSTER, SPAN_SELECT_HEROES, SPAN_POSTGRES_WRITE]) {
      expect(byName.get(name)?.attributes[ATTR_JOB_ID], name).toBe(job.jobId);
    }
    const embed = byName.get(SPAN_EMBED)!;
    expect(embed.attributes[ATTR_PHOTO_COUNT]).toBe(manifest.files.length);
    expect(embed.events.filter((e) => e.name === EVENT_PHOTO_EMBEDDED)).toHaveLength(manifest.files.length);
    expect(byName.get(SPAN_POSTGRES_WRITE)!.attributes[ATTR_CLUSTER_COUNT]).toBe(clusters.length);
    expect(await histogramCount(WORKER_METRICS.postgresWrite.name)).toBe(writesBefore + 1);

    const done = lines.find((l) => l.event === 'job_completed');
    expect(done).toMatchObject({ job_id: job.jobId, photo_count: manifest.files.length, photos_failed: 0 });
    for (const key of ['embed_ms', 'cluster_ms', 'select_heroes_ms', 'postgres_write_ms', 'total_ms']) {
      expect(typeof done![key], key).toBe('number');
    }

    // Redelivered after the commit: skipped, the stored result untouched.
    lines.length = 0;
    await handler({ ...job, attempt: 2, deliveryCount: 2 });
    expect(lines.find((l) => l.event === 'job_skipped')).toMatchObject({ reason: 'already_succeeded' });
    expect(await getJobClusters(db, job.jobId)).toEqual(clusters);
    expect((await getJob(db, job.jobId))!.attempts).toBe(1);
  });

  it('fails a photo whose blob is gone alone, and a job with none left for good or for a retry', async () => {
    const [first, second] = manifest.files;
    const lost = await insertPhotos(db, petId, [
      { sha256: 'f'.repeat(64), width: 64, height: 64, bytes: 1, contentType: 'image/jpeg' },
    ]);
    const job = await newJob([photoIds.get(first!.file)!, photoIds.get(second!.file)!, lost[0]!.id]);
    await handler(job);
    expect((await getJob(db, job.jobId))!.status).toBe('succeeded');
    const embed = spans.getFinishedSpans().find((s) => s.name === SPAN_EMBED)!;
    expect(embed.events.find((e) => e.name === EVENT_PHOTO_FAILED)?.attributes).toMatchObject({
      reason: 'missing_blob',
    });
    expect(lines.find((l) => l.event === 'job_completed')).toMatchObject({ photos_failed: 1 });

    const hopeless = await newJob([lost[0]!.id]);
    await expect(handler(hopeless)).rejects.toMatchObject({
      code: 'WORKER_NO_USABLE_PHOTOS',
      retryable: true,
    });
    expect(lines.find((l) => l.event === 'job_failed')).toMatchObject({ code: 'WORKER_NO_USABLE_PHOTOS' });
    expect((await getJob(db, hopeless.jobId))!.status).toBe('running');
  });
});
