// Every write of a job row (api: creation; worker: attempts, results, failures, webhook
// outcomes) in one module, so the job's state machine is read in one place:
// queued -> running -> succeeded | failed -> (retry) running | dead_lettered.
import { DbError } from './errors.js';
import { isUuid } from './ids.js';
import { COLUMNS, getJob, type JobRow, jobColumns, MAX_ERROR_CHARS, toJob } from './jobs.js';
import { type JobPhotoRow, toJobPhoto } from './photos.js';
import type { Queryable } from './queryable.js';
import type { ClusterInput, Job, JobPhoto, JobStatus, WebhookStatus } from './types.js';

export interface NewJob {
  petId: string;
  owner: string;
  /** Non-empty; the caller checks they are photos of this pet. */
  photoIds: string[];
  callbackUrl?: string | null;
  /** Idempotency-Key header; scoped per owner. Needs `requestHash`. */
  idempotencyKey?: string | null;
  /** Hash of the canonical request, compared when the key is seen again. */
  requestHash?: string | null;
  traceId?: string | null;
}

/**
 * `created`: a new job; `replayed`: the same owner sent the same idempotency key
 * with the same request before (the earlier job); `conflict`: same key, another request.
 */
export type CreateJobResult =
  | { outcome: 'created'; job: Job }
  | { outcome: 'replayed'; job: Job }
  | { outcome: 'conflict'; job: Job };

/** Inserts a `queued` job, or resolves an `Idempotency-Key` seen before (race-safe). */
export async function createJob(db: Queryable, input: NewJob): Promise<CreateJobResult> {
  const key = input.idempotencyKey ?? null;
  const hash = key === null ? null : (input.requestHash ?? '');
  for (;;) {
    const inserted = await db.query<JobRow>(
      `INSERT INTO jobs (pet_id, owner, photo_ids, callback_url, idempotency_key, request_hash, trace_id)
       VALUES ($1, $2, $3::uuid[], $4, $5, $6, $7)
       ON CONFLICT (owner, idempotency_key) DO NOTHING
       RETURNING ${COLUMNS}`,
      [input.petId, input.owner, input.photoIds, input.callbackUrl ?? null, key, hash, input.traceId ?? null],
    );
    if (inserted.rows[0]) return { outcome: 'created', job: toJob(inserted.rows[0]) };
    const { rows } = await db.query<JobRow>(
      `SELECT ${COLUMNS} FROM jobs WHERE owner = $1 AND idempotency_key = $2`,
      [input.owner, key],
    );
    // The conflicting job was deleted in between (enqueue failed): try again.
    if (!rows[0]) continue;
    const job = toJob(rows[0]);
    return { outcome: job.requestHash === hash ? 'replayed' : 'conflict', job };
  }
}

/**
 * Removes a job that never reached the queue (the enqueue failed right after
 * the insert), so a retry with the same Idempotency-Key starts afresh.
 * Only a still-`queued` job with no attempts is removed.
 */
export async function deleteQueuedJob(db: Queryable, jobId: string): Promise<boolean> {
  if (!isUuid(jobId)) return false;
  const result = await db.query(`DELETE FROM jobs WHERE id = $1 AND status = 'queued' AND attempts = 0`, [
    jobId,
  ]);
  return result.rowCount === 1;
}

export interface JobAttempt {
  /** The job after the call: `running` for a new attempt, unchanged when it had already succeeded. */
  job: Job;
  /** Status before this call: `succeeded` means a redelivery of a job already done (nothing was changed). */
  previousStatus: JobStatus;
  /** The job's photos in job order (empty for a job already succeeded: it is not processed again). */
  photos: JobPhoto[];
}

/** An attempt starts: the one status change of startJobAttempt and markJobRunning. */
const START_ATTEMPT = `SET status = 'running', attempts = GREATEST(j.attempts, $2), started_at = now(),
            finished_at = NULL, updated_at = now()`;

/**
 * Worker: an attempt starts, in one round trip. Unless the job already
 * succeeded, sets `running`, `attempts` (never lowered by a stale delivery),
 * `started_at` = now and clears `finished_at`, and returns the job's photos in
 * job order with it. A job that already succeeded (a redelivery after the
 * result committed) is returned unchanged, without photos. Null when the job
 * is unknown.
 */
export async function startJobAttempt(
  db: Queryable,
  jobId: string,
  attempt: number,
): Promise<JobAttempt | null> {
  if (!isUuid(jobId)) return null;
  const { rows } = await db.query<JobRow & { previous_status: JobStatus; photos: JobPhotoRow[] }>(
    `WITH previous AS (SELECT id, status FROM jobs WHERE id = $1 FOR UPDATE)
     UPDATE jobs j
        ${START_ATTEMPT}
       FROM previous
      WHERE j.id = previous.id AND previous.status <> 'succeeded'
     RETURNING ${jobColumns('j')}, previous.status AS previous_status,
       (SELECT coalesce(json_agg(json_build_object('id', p.id, 'sha256', p.sha256, 'width', p.width,
                 'height', p.height, 'content_type', p.content_type) ORDER BY wanted.position), '[]')
          FROM unnest(j.photo_ids) WITH ORDINALITY AS wanted(photo_id, position)
          JOIN photos p ON p.id = wanted.photo_id AND p.pet_id = j.pet_id) AS photos`,
    [jobId, attempt],
  );
  const row = rows[0];
  if (row) {
    return {
      job: toJob(row),
      previousStatus: row.previous_status,
      photos: row.photos.map(toJobPhoto),
    };
  }
  // Not updated: unknown, or already succeeded (the rare redelivery path).
  const job = await getJob(db, jobId);
  return job ? { job, previousStatus: job.status, photos: [] } : null;
}

export interface RunningJob extends Job {
  /** Status before this call: `succeeded` means a redelivery of a job already done. */
  previousStatus: JobStatus;
}

/**
 * Worker: an attempt starts. Sets `running`, `attempts` (never lowered by a
 * stale delivery), `started_at` = now, clears `finished_at`. Returns the job
 * (with its status before the call), or null when the job is unknown.
 */
export async function markJobRunning(
  db: Queryable,
  jobId: string,
  attempt: number,
): Promise<RunningJob | null> {
  if (!isUuid(jobId)) return null;
  const { rows } = await db.query<JobRow & { previous_status: JobStatus }>(
    `WITH previous AS (SELECT id, status FROM jobs WHERE id = $1 FOR UPDATE)
     UPDATE jobs j
        ${START_ATTEMPT}
       FROM previous
      WHERE j.id = previous.id
     RETURNING ${jobColumns('j')}, previous.status AS previous_status`,
    [jobId, attempt],
  );
  const row = rows[0];
  return row ? { ...toJob(row), previousStatus: row.previous_status } : null;
}

export interface MarkFailedOptions {
  /** True when no retry follows: the job becomes `dead_lettered` (else `failed`, to be retried). */
  final: boolean;
}

/**
 * Worker: an attempt failed. Records the error (cut to 2000 characters) and
 * sets `failed` (a retry follows) or `dead_lettered` (final, with `finished_at`).
 * A `succeeded` job is never downgraded (a redelivery failing after the result
 * committed, e.g. while sending the webhook): it is returned unchanged.
 * Returns the job, or null when unknown.
 */
export async function markJobFailed(
  db: Queryable,
  jobId: string,
  error: string,
  options: MarkFailedOptions,
): Promise<Job | null> {
  if (!isUuid(jobId)) return null;
  const { rows } = await db.query<JobRow>(
    `UPDATE jobs
        SET status = $2, error = $3, updated_at = now(),
            finished_at = CASE WHEN $2 = 'dead_lettered' THEN now() ELSE NULL END
      WHERE id = $1 AND status <> 'succeeded'
     RETURNING ${COLUMNS}`,
    [jobId, options.final ? 'dead_lettered' : 'failed', error.slice(0, MAX_ERROR_CHARS)],
  );
  return rows[0] ? toJob(rows[0]) : getJob(db, jobId);
}

/** How one run of the webhook stage ended (`attempts`: POSTs made by that run). */
export type WebhookOutcome =
  | { delivered: true; attempts: number }
  | { delivered: false; attempts: number; error: string };

/**
 * Worker: records how a job's callback ended: `delivered`, or `failed` for
 * good (refused, or the bounded retries gave up). Attempts add up over runs;
 * the error is cut to 2000 characters. `delivered` is final: a later failure
 * of a concurrent run does not overwrite it. Returns the job, or null when unknown.
 */
export async function recordWebhookOutcome(
  db: Queryable,
  jobId: string,
  outcome: WebhookOutcome,
): Promise<Job | null> {
  if (!isUuid(jobId)) return null;
  const status: WebhookStatus = outcome.delivered ? 'delivered' : 'failed';
  const error = outcome.delivered ? null : outcome.error.slice(0, MAX_ERROR_CHARS);
  const { rows } = await db.query<JobRow>(
    `UPDATE jobs
        SET webhook_attempts = webhook_attempts + $3,
            webhook_status = CASE WHEN webhook_status = 'delivered' THEN webhook_status ELSE $2 END,
            webhook_error = CASE WHEN webhook_status = 'delivered' THEN webhook_error ELSE $4 END,
            webhook_finished_at = CASE WHEN webhook_status = 'delivered' THEN webhook_finished_at ELSE now() END,
            updated_at = now()
      WHERE id = $1
     RETURNING ${COLUMNS}`,
    [jobId, status, outcome.attempts, error],
  );
  return rows[0] ? toJob(rows[0]) : null;
}

function checkClusters(clusters: ClusterInput[]): void {
  const seen = new Set<string>();
  clusters.forEach((c, index) => {
    if (c.photoIds.length === 0) throw new DbError('DB_INVALID_RESULT', `Cluster ${index} has no photos`);
    if (!c.photoIds.includes(c.heroPhotoId)) {
      throw new DbError('DB_INVALID_RESULT', `Cluster ${index}: the hero is not one of its photos`);
    }
    for (const id of c.photoIds) {
      if (!isUuid(id))
        throw new DbError('DB_INVALID_RESULT', `Cluster ${index}: photo ${id} is not in the job`);
      if (seen.has(id)) throw new DbError('DB_INVALID_RESULT', `Photo ${id} is in more than one cluster`);
      seen.add(id);
    }
  });
}

/**
 * Worker: stores a job's clusters and marks it `succeeded`, atomically and in
 * one round trip (the `save_job_result` function of migration 003: one
 * statement, so one query span under `postgres.write`). Any earlier result of
 * the same job is replaced, so a redelivered job never duplicates rows; the
 * job's row lock serialises two deliveries finishing at once. Throws
 * `JOB_NOT_FOUND` for an unknown job and `INVALID_RESULT` when a cluster is
 * empty, its hero is not a member, or a photo is not the job's or is in two
 * clusters (nothing is written then). A pool or a client (not inside a
 * transaction that must not see an error) may be given.
 */
export async function saveJobResult(db: Queryable, jobId: string, clusters: ClusterInput[]): Promise<Job> {
  if (!isUuid(jobId)) throw new DbError('DB_JOB_NOT_FOUND', `Job ${jobId} does not exist`);
  checkClusters(clusters);
  const members = clusters.flatMap((c, i) =>
    c.photoIds.map((photoId, position) => ({ i, photoId, position })),
  );
  try {
    const { rows } = await db.query<JobRow>(
      `SELECT ${jobColumns('r')} FROM save_job_result($1, $2::uuid[], $3::int[], $4::uuid[], $5::int[]) AS r`,
      [
        jobId,
        clusters.map((c) => c.heroPhotoId),
        members.map((m) => m.i),
        members.map((m) => m.photoId),
        members.map((m) => m.position),
      ],
    );
    return toJob(rows[0]!);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'MC404') throw new DbError('DB_JOB_NOT_FOUND', message, { cause: error });
    if (code === 'MC422') throw new DbError('DB_INVALID_RESULT', message, { cause: error });
    throw error;
  }
}
