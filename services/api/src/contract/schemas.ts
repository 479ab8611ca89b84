import { PHOTO_REJECTION_REASONS } from '@media-cluster/photo';
import { z } from 'zod';
import { CATALOGUE, type ErrorCode } from '../errors.js';
import { RATE_LIMIT_REASONS } from '../metrics.js';

/**
 * The zod schemas of the HTTP API: the api validates its input with them
 * (validate.ts), types its answers with them, and the OpenAPI document
 * (`/v1/openapi.json`, docs/openapi.json) is generated from them. A schema with
 * an `id` here becomes `#/components/schemas/<id>`; the rest is inlined.
 */
export const contract = z.registry<{ id?: string; description?: string; contentMediaType?: string }>();

/** Registers `schema` as a component of the document. */
function component<T extends z.ZodType>(schema: T, id: string, description: string): T {
  contract.add(schema, { id, description });
  return schema;
}
/** A description for an inlined schema (zod's `.describe()` goes to another registry). */
function doc<T extends z.ZodType>(schema: T, description: string): T {
  contract.add(schema, { description });
  return schema;
}

/** Pet ids: 1-64 of letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const PetId = component(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  'PetId',
  'A pet id of your choosing: 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit). A pet belongs to the owner who first uploads for it.',
);

/** Any UUID in its text form (the id columns' shape; case-insensitive). */
export const JobId = component(z.guid(), 'JobId', 'A job id (UUID), as answered by job creation.');

/** Idempotency-Key: 1-255 visible ASCII characters. */
export const IdempotencyKey = component(
  z.string().regex(/^[\x21-\x7e]{1,255}$/),
  'IdempotencyKey',
  'Makes job creation safe to retry: the same key with the same request answers the same job; with another request, 409. 1-255 visible ASCII characters.',
);

/**
 * Ids a body may list before the per-job limit (MAX_JOB_PHOTOS, at most 5,000)
 * is checked on the distinct ones; MAX_JSON_BYTES bounds the body before that.
 */
export const MAX_LISTED_PHOTO_IDS = 10_000;

export const CreateJobRequest = component(
  z.strictObject({
    photoIds: doc(
      z
        .array(z.uuid({ error: 'expected a photo id (UUID)' }))
        .min(1)
        .max(MAX_LISTED_PHOTO_IDS)
        .optional(),
      'The photos to cluster (ids from uploads for this pet; duplicates count once, at most MAX_JOB_PHOTOS distinct). Default: every photo of the pet.',
    ),
    callbackUrl: doc(
      z.string().min(1).max(2_048).optional(),
      'http(s) URL the worker POSTs `{jobId, status, clustersUrl}` to when the job ends; its host must be allowed by the server (CALLBACK_ALLOWED_HOSTS).',
    ),
  }),
  'CreateJobRequest',
  'What to cluster. An empty body (or none) clusters every photo of the pet.',
);

export const PhotoFile = z.string().register(contract, {
  id: 'PhotoFile',
  description:
    'A JPEG, PNG or WebP photo (told apart by its bytes; the file name and part Content-Type are ignored), at most MAX_PHOTO_BYTES.',
  contentMediaType: 'application/octet-stream',
});

export const UploadForm = component(
  z.strictObject({ photos: z.array(PhotoFile).min(1) }),
  'UploadForm',
  '1 to MAX_PHOTOS files in the multipart field `photos`, and nothing else.',
);

const Sha256 = doc(z.string().regex(/^[0-9a-f]{64}$/), 'sha256 of the bytes, lowercase hex.');
const TraceId = doc(
  z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  'The W3C trace id of the request that created the job (null when it was not traced).',
);
const Timestamp = z.iso.datetime();

export const UploadedPhoto = component(
  z.object({
    id: z.uuid(),
    sha256: Sha256,
    width: doc(z.int().min(1), 'Displayed width in pixels (EXIF orientation applied).'),
    height: doc(z.int().min(1), 'Displayed height in pixels (EXIF orientation applied).'),
    bytes: z.int().min(1),
  }),
  'UploadedPhoto',
  'A stored photo. The same bytes uploaded again for the same pet answer the same id.',
);

export const UploadedPhotos = component(
  z.object({ photos: z.array(UploadedPhoto).min(1) }),
  'UploadedPhotos',
  'The photos of the upload, in the order they were sent.',
);

export const JobStatusName = component(
  z.enum(['queued', 'running', 'succeeded', 'failed', 'dead_lettered']),
  'JobStatusName',
  '`queued -> running -> succeeded | failed -> (retry) running | dead_lettered`.',
);

export const JobAccepted = component(
  z.object({ jobId: z.uuid(), status: JobStatusName, traceId: TraceId }),
  'JobAccepted',
  'The job (a replay with the same Idempotency-Key answers the existing job and its current status).',
);

export const Job = component(
  z.object({
    jobId: z.uuid(),
    petId: PetId,
    status: JobStatusName,
    attempts: doc(z.int().min(0), 'Runs started so far (retries included).'),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    error: doc(z.string().nullable(), 'Why the job failed or was dead-lettered; null otherwise.'),
    traceId: TraceId,
  }),
  'Job',
  'A clustering job. Poll it with If-None-Match: its ETag changes only when it does.',
);

export const Cluster = component(
  z.object({
    clusterId: doc(z.int().min(0), 'Position of the cluster in the result (0-based).'),
    heroPhotoId: doc(z.uuid(), 'The best photo of the cluster (one of photoIds).'),
    photoIds: z.array(z.uuid()).min(1),
    size: z.int().min(1),
  }),
  'Cluster',
  'Photos of the same shot or scene.',
);

export const PetClusters = component(
  z.object({ jobId: z.uuid(), finishedAt: Timestamp, clusters: z.array(Cluster) }),
  'PetClusters',
  'The latest succeeded clustering of the pet.',
);

export const Health = component(
  z.object({ status: z.literal('ok') }),
  'Health',
  'The process is up (nothing else is checked).',
);

export const CheckResult = component(
  z.enum(['ok', 'unreachable', 'timeout', 'pending', 'not_configured']),
  'CheckResult',
  'One dependency check: `pending` means database migrations not applied yet.',
);

const Checks = z.object({ redis: CheckResult, postgres: CheckResult, migrations: CheckResult });

export const Ready = component(
  z.object({ status: z.literal('ready'), checks: Checks }),
  'Ready',
  'Redis, Postgres and the migrations answer.',
);

export const NotReady = component(
  z.object({
    status: z.literal('unavailable'),
    failed: z.array(z.enum(['redis', 'postgres', 'migrations'])).min(1),
    checks: Checks,
  }),
  'NotReady',
  'Some dependency does not answer; `failed` names which.',
);

export const OpenApiDocument = component(
  z.looseObject({ openapi: z.string().regex(/^3\.1\.\d+$/) }),
  'OpenApiDocument',
  'This document (OpenAPI 3.1).',
);

const ERROR_CODES = Object.keys(CATALOGUE) as [ErrorCode, ...ErrorCode[]];

export const Problem = component(
  z.object({
    type: doc(z.url(), 'https://media-cluster.dev/problems/<code>: stable, one per code.'),
    title: doc(z.string(), "The code's title (the same for every answer with that code)."),
    status: z.int().min(400).max(599),
    detail: doc(z.string(), 'What went wrong with this request, and what to change.'),
    code: z.enum(ERROR_CODES),
    instance: doc(z.string().optional(), 'The request path (absent on answers of the HTTP parser).'),
    requestId: doc(z.string().optional(), 'Quote it when reporting a problem (also in X-Request-Id).'),
    // Extension members, each present only with the codes named.
    errors: doc(
      z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      '`invalid_request`: every issue with the body, by JSON path.',
    ),
    file: doc(z.string().optional(), 'Upload problems: the file name the client sent for the part at fault.'),
    index: doc(z.int().min(0).optional(), 'Upload problems: the 0-based position of that file.'),
    reason: doc(
      z.enum([...PHOTO_REJECTION_REASONS, ...RATE_LIMIT_REASONS]).optional(),
      'A photo rejection: `empty`, `unsupported_type`, `too_large_dimensions` or `corrupt` (same as the code); a 429: the bucket, `jobs`, `uploads` or `auth_failures`.',
    ),
    detectedType: doc(
      z.string().nullable().optional(),
      '`unsupported_type`: what the bytes look like (`gif`, `svg`, `html`, ...).',
    ),
    width: doc(z.int().min(1).optional(), '`too_large_dimensions`: the upright width from the header.'),
    height: doc(z.int().min(1).optional(), '`too_large_dimensions`: the upright height from the header.'),
    maxPixels: doc(z.int().min(1).optional(), '`too_large_dimensions`: the limit (MAX_PIXELS).'),
    maxBytes: doc(z.int().min(1).optional(), '`file_too_large`, `payload_too_large`: the limit.'),
    maxFiles: doc(z.int().min(1).optional(), '`too_many_files`: the limit (MAX_PHOTOS).'),
    limit: doc(
      z.union([z.int().min(1), z.string()]).optional(),
      '`too_many_photos`: the limit (MAX_JOB_PHOTOS); a 429: the configured rate, e.g. `"20/s"`.',
    ),
    burst: doc(z.int().min(1).optional(), 'A 429: the bucket size.'),
    retryAfterSeconds: doc(
      z.int().min(1).optional(),
      'A 429 or `queue_full`: when to try again, in whole seconds (also in Retry-After).',
    ),
    backlog: doc(z.int().min(0).optional(), '`queue_full`: jobs waiting, as this replica counts them.'),
    ceiling: doc(z.int().min(1).optional(), '`queue_full`: the ceiling (JOB_BACKLOG_CEILING).'),
    drainPerSecond: doc(
      z.number().min(0).nullable().optional(),
      '`queue_full`: jobs finished per second lately; null while unknown.',
    ),
    photoIds: doc(
      z.array(z.uuid()).max(100).optional(),
      '`unknown_photo_ids`: the ids that are not photos of this pet (the first 100).',
    ),
    jobId: doc(z.uuid().optional(), '`idempotency_conflict`: the job the key belongs to.'),
  }),
  'Problem',
  'RFC 9457 problem details: every error answer, as application/problem+json.',
);
