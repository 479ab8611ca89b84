import { isUuid } from './ids.js';
import type { Queryable } from './queryable.js';
import type { Job, JobStatus, WebhookStatus } from './types.js';

export interface JobRow {
  id: string;
  pet_id: string;
  owner: string;
  status: JobStatus;
  attempts: number;
  idempotency_key: string | null;
  request_hash: string | null;
  callback_url: string | null;
  photo_ids: string[];
  error: string | null;
  trace_id: string | null;
  webhook_status: WebhookStatus | null;
  webhook_attempts: number;
  webhook_error: string | null;
  webhook_finished_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

const NAMES = [
  'id',
  'pet_id',
  'owner',
  'status',
  'attempts',
  'idempotency_key',
  'request_hash',
  'callback_url',
  'photo_ids',
  'error',
  'trace_id',
  'webhook_status',
  'webhook_attempts',
  'webhook_error',
  'webhook_finished_at',
  'created_at',
  'started_at',
  'finished_at',
  'updated_at',
];

/** The select list of a job row; photo_ids as text[], which node-postgres parses into string[]. */
export function jobColumns(alias?: string): string {
  const p = alias ? `${alias}.` : '';
  return NAMES.map((n) => (n === 'photo_ids' ? `${p}photo_ids::text[] AS photo_ids` : `${p}${n}`)).join(', ');
}

const COLUMNS = jobColumns();

/** Errors stored on a job are cut to this many characters. */
const MAX_ERROR_CHARS = 2_000;

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    petId: r.pet_id,
    owner: r.owner,
    status: r.status,
    attempts: r.attempts,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    callbackUrl: r.callback_url,
    photoIds: r.photo_ids,
    error: r.error,
    traceId: r.trace_id,
    webhook: {
      status: r.webhook_status,
      attempts: r.webhook_attempts,
      error: r.webhook_error,
      finishedAt: r.webhook_finished_at,
    },
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
  };
}

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

/** The job, or null when unknown (also for ids that are not UUIDs). */
export async function getJob(db: Queryable, jobId: string): Promise<Job | null> {
  if (!isUuid(jobId)) return null;
  const { rows } = await db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [jobId]);
  return rows[0] ? toJob(rows[0]) : null;
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
        SET status = 'running', attempts = GREATEST(j.attempts, $2), started_at = now(),
            finished_at = NULL, updated_at = now()
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
