import { z } from 'zod';
import { CATALOGUE, type ErrorCode } from '../errors.js';
import * as S from './schemas.js';

export interface HeaderSpec {
  schema: z.ZodType;
  description: string;
  /** @defaultValue false */
  required?: boolean;
}

/** One documented answer of an operation. */
export type ResponseSpec =
  | { description: string; json: z.ZodType; headers?: Record<string, HeaderSpec> }
  | { description: string; empty: true; headers?: Record<string, HeaderSpec> }
  | { problems: ErrorCode[] };

export interface Operation {
  operationId: string;
  method: 'get' | 'post';
  /** OpenAPI path template (`{petId}`); express spells it `:petId`. */
  path: string;
  summary: string;
  description?: string;
  /** A Bearer API key is required. */
  auth: boolean;
  pathParams?: Record<string, z.ZodType>;
  requestHeaders?: Record<string, HeaderSpec>;
  requestBody?: {
    contentType: 'application/json' | 'multipart/form-data';
    schema: z.ZodType;
    required: boolean;
  };
  /** By status. Adding an answer is one line: `429: json(...)`, or one more code in `problems(...)`. */
  responses: Record<number, ResponseSpec>;
}

/** An answer with a JSON body. */
export const json = (json: z.ZodType, description: string, headers?: Record<string, HeaderSpec>) => ({
  json,
  description,
  ...(headers ? { headers } : {}),
});

/** An answer without a body. */
export const empty = (description: string, headers?: Record<string, HeaderSpec>) => ({
  empty: true as const,
  description,
  ...(headers ? { headers } : {}),
});

/** Problem+json answers, one per status of the codes listed (codes and statuses from errors.ts). */
export function problems(...codes: ErrorCode[]): Record<number, ResponseSpec> {
  const byStatus: Record<number, { problems: ErrorCode[] }> = {};
  for (const code of codes) {
    const status = CATALOGUE[code].status;
    byStatus[status] = { problems: [...(byStatus[status]?.problems ?? []), code] };
  }
  return byStatus;
}

/**
 * Answers any operation can give: the HTTP parser's refusals (before routing:
 * a garbled request, headers over 16 KB, a request that arrives too slowly) and
 * a bug. The generator adds them to every operation.
 */
export const EVERY_OPERATION: readonly ErrorCode[] = [
  'bad_request',
  'request_timeout',
  'headers_too_large',
  'internal',
];

/** Codes the HTTP parser answers itself: no request id, no `instance`. */
export const PARSER_CODES: readonly ErrorCode[] = [
  'bad_request',
  'request_timeout',
  'headers_too_large',
  'payload_too_large',
];

/** Headers on every answer of the application (not on the parser's refusals). */
export const COMMON_RESPONSE_HEADERS: Record<string, HeaderSpec> = {
  'X-Request-Id': {
    schema: z.string().min(1),
    description: 'The request id: the one the client sent in X-Request-Id when sane, else a new one.',
    required: true,
  },
  traceresponse: {
    schema: z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
    description: 'W3C Trace Context level 2: the trace and span of this request, when it was traced.',
  },
};

const retryAfter = (description: string): HeaderSpec => ({
  schema: z.string().regex(/^\d+$/),
  description,
  required: true,
});

/** Headers that come with a problem code. */
export const PROBLEM_HEADERS: Partial<Record<ErrorCode, Record<string, HeaderSpec>>> = {
  unauthorized: {
    'WWW-Authenticate': {
      schema: z.string().regex(/^Bearer /),
      description: 'How to authenticate: `Bearer realm="media-cluster"`.',
      required: true,
    },
  },
  queue_unavailable: { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
  database_unavailable: { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
  queue_full: { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
  rate_limited: { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
  too_many_auth_failures: { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
};

const ETAG: HeaderSpec = {
  schema: z.string().regex(/^"[A-Za-z0-9_-]+"$/),
  description: 'Strong entity tag of the job status; send it back in If-None-Match.',
  required: true,
};

/** What a read of one's own resource can be refused with. */
const READ_PROBLEMS = problems(
  'invalid_id',
  'invalid_request',
  'unauthorized',
  'not_found',
  'too_many_auth_failures',
  'database_unavailable',
);

export const OPERATIONS: readonly Operation[] = [
  {
    operationId: 'getHealth',
    method: 'get',
    path: '/health',
    summary: 'Liveness',
    auth: false,
    responses: { 200: json(S.Health, 'The process is up.') },
  },
  {
    operationId: 'getReady',
    method: 'get',
    path: '/ready',
    summary: 'Readiness: Redis, Postgres and the migrations',
    auth: false,
    responses: {
      200: json(S.Ready, 'Ready to serve.'),
      503: json(S.NotReady, 'A dependency does not answer (each check is bounded to 2 s).'),
    },
  },
  {
    operationId: 'getOpenApi',
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This OpenAPI document',
    description: 'No API key needed. The same document is committed as docs/openapi.json.',
    auth: false,
    responses: { 200: json(S.OpenApiDocument, 'The OpenAPI 3.1 document of this API.') },
  },
  {
    operationId: 'uploadPhotos',
    method: 'post',
    path: '/v1/pets/{petId}/photos',
    summary: 'Upload photos of a pet',
    description:
      'All or nothing: the first bad file rejects the request with a problem naming it (`file`, `index`, `reason`), and no photo of the request is recorded. The first upload for a pet makes it the caller’s.',
    auth: true,
    pathParams: { petId: S.PetId },
    requestBody: { contentType: 'multipart/form-data', schema: S.UploadForm, required: true },
    responses: {
      201: json(S.UploadedPhotos, 'Stored.'),
      ...problems(
        'invalid_id',
        'invalid_request',
        'malformed_multipart',
        'no_files',
        'unauthorized',
        'not_found',
        'payload_too_large',
        'file_too_large',
        'too_many_files',
        'unsupported_media_type',
        'unsupported_type',
        'empty',
        'corrupt',
        'too_large_dimensions',
        'rate_limited',
        'too_many_auth_failures',
        'database_unavailable',
      ),
    },
  },
  {
    operationId: 'createClusteringJob',
    method: 'post',
    path: '/v1/pets/{petId}/clustering-jobs',
    summary: 'Cluster the photos of a pet',
    description:
      'Queues a clustering job. The worker embeds the photos, groups similar ones and picks a hero per group; poll the job (Location), or pass a callbackUrl.',
    auth: true,
    pathParams: { petId: S.PetId },
    requestHeaders: {
      'Idempotency-Key': { schema: S.IdempotencyKey, description: 'Optional; see the schema.' },
    },
    requestBody: { contentType: 'application/json', schema: S.CreateJobRequest, required: false },
    responses: {
      202: json(S.JobAccepted, 'Queued (or, for a replayed Idempotency-Key, the existing job).', {
        Location: {
          schema: z.string().regex(/^\/v1\/jobs\/[0-9a-f-]{36}$/),
          description: 'The job to poll.',
          required: true,
        },
        'Retry-After': retryAfter('Seconds to wait before the first poll (RETRY_AFTER_SECONDS).'),
      }),
      ...problems(
        'invalid_id',
        'invalid_idempotency_key',
        'invalid_json',
        'invalid_request',
        'unauthorized',
        'not_found',
        'idempotency_conflict',
        'payload_too_large',
        'unsupported_media_type',
        'invalid_callback_url',
        'unknown_photo_ids',
        'no_photos',
        'too_many_photos',
        'rate_limited',
        'too_many_auth_failures',
        'queue_full',
        'queue_unavailable',
        'database_unavailable',
      ),
    },
  },
  {
    operationId: 'getClusteringJob',
    method: 'get',
    path: '/v1/jobs/{jobId}',
    summary: 'Status of a clustering job',
    auth: true,
    pathParams: { jobId: S.JobId },
    requestHeaders: {
      'If-None-Match': {
        schema: z.string().min(1),
        description:
          'The ETag of the last answer (or a list of them, or `*`): 304 while the job is unchanged.',
      },
    },
    responses: {
      200: json(S.Job, 'The job.', {
        ETag: ETAG,
        'Cache-Control': {
          schema: z.literal('private, no-cache'),
          description: 'Revalidate on every poll.',
          required: true,
        },
      }),
      304: empty('Unchanged since the ETag sent in If-None-Match.', { ETag: ETAG }),
      ...READ_PROBLEMS,
    },
  },
  {
    operationId: 'getPetClusters',
    method: 'get',
    path: '/v1/pets/{petId}/clusters',
    summary: 'The latest clustering of a pet',
    auth: true,
    pathParams: { petId: S.PetId },
    responses: {
      200: json(S.PetClusters, 'The result of the latest succeeded job.'),
      ...READ_PROBLEMS,
    },
  },
];
