import { createHash } from 'node:crypto';
import {
  countPhotos,
  createJob,
  deleteQueuedJob,
  getJob,
  getPhotos,
  type Job,
  listPhotoIds,
} from '@media-cluster/db';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { checkCallbackUrl } from '../callback-url.js';
import { CreateJobRequest, type JobAccepted, type Job as JobView } from '../contract/schemas.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { securityViolation } from '../http/auth.js';
import type { ApiMetrics } from '../metrics.js';
import { idempotencyKeyHeader, jobIdParam, parseBody, petIdParam } from '../validate.js';
import { checkPetAccess, petNotFound } from './pet-access.js';

/** The request as the idempotency check compares it: path pet + body, canonical. */
function requestHash(petId: string, body: z.output<typeof CreateJobRequest>): string {
  const canonical = JSON.stringify([petId, body.photoIds ?? null, body.callbackUrl ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** POST /v1/pets/{petId}/clustering-jobs */
export function createClusteringJob(deps: AppDeps, metrics: ApiMetrics) {
  const { config, db, producer } = deps;
  return async (req: Request, res: Response) => {
    const petId = petIdParam(req.params.petId);
    const idempotencyKey = idempotencyKeyHeader(req.get('idempotency-key'));
    const body = parseBody(CreateJobRequest, req.body);
    if (!(await checkPetAccess(req, db, metrics, petId))) throw petNotFound();
    const callbackUrl =
      body.callbackUrl === undefined
        ? null
        : checkCallbackUrl(body.callbackUrl, config.CALLBACK_ALLOWED_HOSTS);

    const limit = config.MAX_JOB_PHOTOS;
    const tooMany = (count: string, fix: string) =>
      new ApiError(
        'too_many_photos',
        `A job may cluster at most ${limit} photos (MAX_JOB_PHOTOS); this one would cluster ${count}. ${fix}`,
        { extras: { limit } },
      );
    let photoIds: string[];
    if (body.photoIds) {
      photoIds = [...new Set(body.photoIds.map((id) => id.toLowerCase()))];
      if (photoIds.length > limit)
        throw tooMany(String(photoIds.length), `Split the photoIds over several jobs.`);
      const found = new Set((await getPhotos(db, petId, photoIds)).map((p) => p.id));
      const unknown = photoIds.filter((id) => !found.has(id));
      if (unknown.length > 0) {
        throw new ApiError(
          'unknown_photo_ids',
          `${unknown.length} of the photoIds are not photos of this pet`,
          {
            extras: { photoIds: unknown.slice(0, 100) },
          },
        );
      }
    } else {
      // One id past the limit says "too many" without reading every id of a huge pet.
      photoIds = await listPhotoIds(db, petId, { limit: limit + 1 });
      if (photoIds.length === 0) throw new ApiError('no_photos', 'Upload photos for the pet first');
      if (photoIds.length > limit)
        throw tooMany(
          `all ${await countPhotos(db, petId)} photos of the pet`,
          `Pass photoIds with at most ${limit} of them.`,
        );
    }

    const result = await createJob(db, {
      petId,
      owner: req.state.owner!,
      photoIds,
      callbackUrl,
      idempotencyKey,
      requestHash: idempotencyKey ? requestHash(petId, body) : null,
      traceId: req.state.traceId ?? null,
    });
    if (result.outcome === 'conflict') {
      metrics.idempotencyConflicts.add(1);
      throw new ApiError('idempotency_conflict', 'This Idempotency-Key was used for a different request', {
        extras: { jobId: result.job.id },
      });
    }

    const { job } = result;
    if (result.outcome === 'created') {
      try {
        await producer.send({ jobId: job.id, partitionKey: petId });
        req.state.admission?.enqueued();
      } catch (error) {
        // Never leave a queued job nobody will run: drop it, the client retries.
        await deleteQueuedJob(db, job.id).catch((cleanupError: unknown) => {
          req.state.log.error(
            { err: cleanupError, job_id: job.id },
            'could not remove a job that was not enqueued',
          );
        });
        throw new ApiError('queue_unavailable', 'The job could not be queued; try again shortly', {
          cause: error,
          headers: { 'retry-after': '5' },
        });
      }
      metrics.jobs.add(1, metrics.queuedLabels);
      req.state.log.info(
        {
          event: 'job_created',
          job_id: job.id,
          photo_count: photoIds.length,
          callback: callbackUrl !== null,
        },
        'job created',
      );
    } else {
      req.state.log.info({ event: 'job_replayed', job_id: job.id }, 'idempotent replay of a job');
    }

    res
      .status(202)
      .location(`/v1/jobs/${job.id}`)
      .setHeader('retry-after', String(config.RETRY_AFTER_SECONDS))
      .json({ jobId: job.id, status: job.status, traceId: job.traceId } satisfies z.output<
        typeof JobAccepted
      >);
  };
}

function jobView(job: Job): z.output<typeof JobView> {
  return {
    jobId: job.id,
    petId: job.petId,
    status: job.status,
    attempts: job.attempts,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    error: job.error,
    traceId: job.traceId,
  };
}

/** RFC 9110 If-None-Match: `*` or a list of (weak-compared) entity tags. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.trim() === '*' || header.split(',').some((tag) => bare(tag) === etag);
}

/** GET /v1/jobs/{jobId}: status with a strong ETag; If-None-Match -> 304. */
export function getClusteringJob(deps: AppDeps, metrics: ApiMetrics) {
  const { db } = deps;
  return async (req: Request, res: Response) => {
    const jobId = jobIdParam(req.params.jobId);
    const job = await getJob(db, jobId);
    if (!job) throw new ApiError('not_found', 'No such job');
    if (job.owner !== req.state.owner) {
      securityViolation(req, metrics, 'not_owner');
      throw new ApiError('not_found', 'No such job');
    }
    metrics.statusPolls.add(1);
    const body = JSON.stringify(jobView(job));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'private, no-cache');
    if (matchesEtag(req.get('if-none-match'), etag)) {
      metrics.statusPoll304.add(1);
      res.status(304).end();
      return;
    }
    res.type('application/json').send(body);
  };
}
