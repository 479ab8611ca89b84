import { cluster, selectHeroes } from '@media-cluster/clustering';
import {
  type BlobStore,
  type Job,
  recordWebhookOutcome,
  saveJobResult,
  startJobAttempt,
} from '@media-cluster/db';
import { isRetryable, type JobMessage } from '@media-cluster/queue';
import {
  ATTR_ATTEMPT,
  ATTR_CLUSTER_COUNT,
  ATTR_JOB_ID,
  ATTR_MODEL_VERSION,
  ATTR_PHOTO_COUNT,
  ATTR_PHOTOS_FAILED,
  LABEL_MODEL_VERSION,
  LABEL_OUTCOME,
  SPAN_CLUSTER,
  SPAN_EMBED,
  SPAN_POSTGRES_WRITE,
  SPAN_SELECT_HEROES,
} from '@media-cluster/semconv';
import type pg from 'pg';
import type { Logger } from 'pino';
import { WorkerError } from './errors.js';
import type { WorkerMetrics } from './metrics.js';
import { type StageTimings, stage } from './stage.js';
import { deliverWebhook } from './stages/deliver-webhook.js';
import { embedPhotos, type PhotoEmbedder } from './stages/embed.js';
import { readPhoto } from './stages/load-photos.js';

export interface ProcessJobDeps {
  db: pg.Pool;
  blobs: BlobStore;
  embedder: PhotoEmbedder;
  metrics: WorkerMetrics;
  logger: Logger;
  webhook: { allowedHosts: readonly string[]; timeoutMs: number; maxAttempts: number; publicApiUrl: string };
  embedConcurrency: number;
  /** MAX_JOB_PHOTOS: a larger job fails for good instead of risking the worker's memory. */
  maxJobPhotos: number;
}

const ms = (from: number) => Math.round(performance.now() - from);

/**
 * The queue handler: embed → cluster → select_heroes → postgres.write →
 * webhook, one span each under the CONSUMER span (stage.ts). Postgres is
 * asked twice per job (start the attempt with its photos; write the result),
 * each one round trip. Throwing makes the queue retry; the result write is
 * idempotent per job, so a redelivery after a crash never duplicates rows. A
 * redelivery of a job already `succeeded` skips the pipeline but still sends
 * the webhook when no run settled it (the worker died between the commit and
 * the delivery): at-least-once.
 */
export function createJobHandler(deps: ProcessJobDeps) {
  const { db, blobs, embedder, metrics, webhook } = deps;
  const modelLabels = Object.freeze({ [LABEL_MODEL_VERSION]: embedder.modelVersion });
  const threshold = embedder.clusterThreshold === undefined ? {} : { threshold: embedder.clusterThreshold };

  return async function processJob(job: JobMessage): Promise<void> {
    const logger = deps.logger.child({ job_id: job.jobId, attempt: job.attempt });
    const timings: StageTimings = { embed_ms: 0, cluster_ms: 0, select_heroes_ms: 0, postgres_write_ms: 0 };
    const started = performance.now();
    try {
      await runStages(job, logger, timings, started);
    } catch (error) {
      logger.warn(
        {
          event: 'job_failed',
          err: error,
          // Every coded error (WORKER_*, DB_*, CLUSTERING_*), not only the worker's own.
          code: (error as { code?: unknown }).code,
          retryable: isRetryable(error),
          ...timings,
          total_ms: ms(started),
        },
        'job attempt failed',
      );
      throw error;
    }
  };

  async function runStages(job: JobMessage, logger: Logger, timings: StageTimings, started: number) {
    const base = { [ATTR_JOB_ID]: job.jobId, [ATTR_ATTEMPT]: job.attempt };

    const attempt = await startJobAttempt(db, job.jobId, job.attempt);
    if (!attempt)
      throw new WorkerError('WORKER_JOB_NOT_FOUND', `job ${job.jobId} is not in the database`, {
        retryable: false,
      });
    if (attempt.previousStatus === 'succeeded') {
      // Redelivered after the result committed but before the ack: the result is
      // not redone, but a webhook no run settled (the worker died before or
      // during its delivery) is sent now.
      const existing = attempt.job;
      const pending = existing.callbackUrl !== null && existing.webhook.status === null;
      logger.info(
        { event: 'job_skipped', reason: 'already_succeeded', webhook_pending: pending },
        'job already succeeded',
      );
      if (pending) await sendWebhook(existing, logger);
      return;
    }
    const running = attempt.job;

    // The api refuses larger jobs; one created under a higher limit (or by hand) must
    // not take the worker's memory with it, and retrying cannot make it smaller.
    if (running.photoIds.length > deps.maxJobPhotos) {
      throw new WorkerError(
        'WORKER_JOB_TOO_LARGE',
        `the job has ${running.photoIds.length} photos, more than MAX_JOB_PHOTOS (${deps.maxJobPhotos})`,
        { retryable: false },
      );
    }
    const refs = attempt.photos;
    const photoCount = refs.length;

    const { embedded, failed } = await stage(
      SPAN_EMBED,
      timings,
      {
        attributes: { ...base, [ATTR_PHOTO_COUNT]: photoCount, [ATTR_MODEL_VERSION]: embedder.modelVersion },
        histogram: metrics.embedding,
        labels: modelLabels,
      },
      async (span) => {
        const result = await embedPhotos(embedder, refs, {
          concurrency: deps.embedConcurrency,
          span,
          read: (photo) => readPhoto(blobs, photo),
        });
        span.setAttribute(ATTR_PHOTOS_FAILED, result.failed.length);
        return result;
      },
    );
    metrics.photosProcessed.add(embedded.length);
    for (const f of failed) metrics.photosFailed.add(1, metrics.reasonLabels(f.reason));
    if (embedded.length === 0) {
      throw new WorkerError(
        'WORKER_NO_USABLE_PHOTOS',
        `none of the job's ${photoCount} photos could be read`,
        // A blob may still be arriving on a shared volume.
        { retryable: failed.some((f) => f.reason === 'missing_blob') },
      );
    }

    const groups = await stage(
      SPAN_CLUSTER,
      timings,
      { attributes: { ...base, [ATTR_PHOTO_COUNT]: embedded.length }, histogram: metrics.clustering },
      (span) => {
        const result = cluster(embedded, threshold);
        span.setAttribute(ATTR_CLUSTER_COUNT, result.length);
        return result;
      },
    );

    const heroes = await stage(
      SPAN_SELECT_HEROES,
      timings,
      { attributes: { ...base, [ATTR_CLUSTER_COUNT]: groups.length } },
      () => selectHeroes(groups, new Map(embedded.map((e) => [e.id, e.quality]))),
    );

    await stage(
      SPAN_POSTGRES_WRITE,
      timings,
      { attributes: { ...base, [ATTR_CLUSTER_COUNT]: heroes.length }, histogram: metrics.postgresWrite },
      () =>
        saveJobResult(
          db,
          job.jobId,
          heroes.map((h) => ({ heroPhotoId: h.heroId, photoIds: h.ids })),
        ),
    );
    metrics.clustersPerJob.record(heroes.length);

    logger.info(
      {
        event: 'job_completed',
        photo_count: photoCount,
        photos_failed: failed.length,
        cluster_count: heroes.length,
        ...timings,
        total_ms: ms(started),
      },
      'job completed',
    );

    if (running.callbackUrl) await sendWebhook(running, logger);
  }

  /**
   * Delivers the job's callback (bounded retries inside) and records how it
   * ended. Never throws: the result is committed, so a failure here must not
   * send the job back through the retry path.
   */
  async function sendWebhook(job: Job, logger: Logger): Promise<void> {
    const callbackUrl = job.callbackUrl;
    if (!callbackUrl) return;
    const body = {
      jobId: job.id,
      status: 'succeeded',
      clustersUrl: new URL(
        `/v1/pets/${encodeURIComponent(job.petId)}/clusters`,
        webhook.publicApiUrl,
      ).toString(),
    };
    const t0 = performance.now();
    const result = await deliverWebhook(callbackUrl, body, webhook);
    const seconds = (performance.now() - t0) / 1000;
    metrics.webhookDelivery.record(seconds, { [LABEL_OUTCOME]: result.delivered ? 'delivered' : 'failed' });
    if (result.delivered) {
      logger.info(
        { event: 'webhook_delivered', attempts: result.attempts, status: result.status },
        'webhook delivered',
      );
    } else {
      metrics.webhookFailures.add(1, metrics.reasonLabels(result.reason));
      logger.warn(
        {
          event: 'webhook_failed',
          attempts: result.attempts,
          reason: result.reason,
          detail: result.detail,
        },
        'webhook failed',
      );
    }
    try {
      await recordWebhookOutcome(
        db,
        job.id,
        result.delivered
          ? { delivered: true, attempts: result.attempts }
          : { delivered: false, attempts: result.attempts, error: `${result.reason}: ${result.detail}` },
      );
    } catch (error) {
      // Unrecorded, the webhook stays pending: only a later redelivery of this
      // job (if any) would send it again, which at-least-once allows.
      logger.warn({ event: 'webhook_record_failed', err: error }, 'could not record the webhook outcome');
    }
  }
}
