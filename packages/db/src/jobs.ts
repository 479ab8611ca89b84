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

export const COLUMNS = jobColumns();

/** Errors stored on a job are cut to this many characters. */
export const MAX_ERROR_CHARS = 2_000;

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

/** The job, or null when unknown (also for ids that are not UUIDs). */
export async function getJob(db: Queryable, jobId: string): Promise<Job | null> {
  if (!isUuid(jobId)) return null;
  const { rows } = await db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [jobId]);
  return rows[0] ? toJob(rows[0]) : null;
}
