/**
 * The api's error catalogue: every error a client can see has a stable code,
 * an HTTP status and a title. The problem `type` is `${PROBLEM_BASE}<code>`.
 * Upload rejections use `@media-cluster/photo`'s reasons as codes
 * (`empty`, `corrupt`, `unsupported_type`, `too_large_dimensions`; upload/inspect-photo.ts
 * does not compile if one is missing here).
 */
export const PROBLEM_BASE = 'https://media-cluster.dev/problems/';

export const CATALOGUE = {
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  not_found: { status: 404, title: 'Not found' },
  bad_request: { status: 400, title: 'The request could not be parsed' },
  invalid_request: { status: 400, title: 'The request is not valid' },
  invalid_json: { status: 400, title: 'The body is not valid JSON' },
  invalid_id: { status: 400, title: 'The id in the path is not valid' },
  invalid_idempotency_key: { status: 400, title: 'The Idempotency-Key header is not valid' },
  malformed_multipart: { status: 400, title: 'The multipart body could not be read' },
  no_files: { status: 400, title: 'No photos in the upload' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  file_too_large: { status: 413, title: 'A photo is larger than allowed' },
  too_many_files: { status: 413, title: 'Too many photos in one upload' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  empty: { status: 422, title: 'A photo is empty' },
  unsupported_type: { status: 415, title: 'A photo is not JPEG, PNG or WebP' },
  corrupt: { status: 422, title: 'A photo could not be decoded' },
  too_large_dimensions: { status: 422, title: 'A photo has more pixels than allowed' },
  invalid_callback_url: { status: 422, title: 'The callbackUrl is not allowed' },
  unknown_photo_ids: { status: 422, title: 'Some photoIds are not photos of this pet' },
  no_photos: { status: 422, title: 'The pet has no photos to cluster' },
  too_many_photos: { status: 422, title: 'The job has more photos than one job may cluster' },
  idempotency_conflict: { status: 409, title: 'Idempotency-Key reused with a different request' },
  rate_limited: { status: 429, title: 'Too many requests for this API key' },
  too_many_auth_failures: { status: 429, title: 'Too many failed authentications from this address' },
  queue_full: { status: 503, title: 'The job queue is full' },
  queue_unavailable: { status: 503, title: 'The job queue is unavailable' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof CATALOGUE;

/** An error a client sees as problem+json; `extras` are extra members of the problem object. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extras: Record<string, unknown>;
  /** Response headers to add (e.g. `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { extras?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? CATALOGUE[code].title, { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = CATALOGUE[code].status;
    this.extras = options.extras ?? {};
    this.headers = options.headers ?? {};
  }
}

export function problemType(code: ErrorCode): string {
  return `${PROBLEM_BASE}${code}`;
}
