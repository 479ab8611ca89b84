import type { z } from 'zod';
import { IdempotencyKey, JobId, PetId } from './contract/schemas.js';
import { ApiError } from './errors.js';

export function petIdParam(value: unknown): string {
  const parsed = PetId.safeParse(value);
  if (!parsed.success) {
    throw new ApiError(
      'invalid_id',
      'A pet id is 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)',
    );
  }
  return parsed.data;
}

export function jobIdParam(value: unknown): string {
  const parsed = JobId.safeParse(value);
  if (!parsed.success) throw new ApiError('invalid_id', 'A job id is a UUID');
  return parsed.data.toLowerCase();
}

export function idempotencyKeyHeader(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!IdempotencyKey.safeParse(value).success) {
    throw new ApiError('invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return value;
}

/** Parses with a zod schema; failures become 400 invalid_request listing every issue. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  throw new ApiError('invalid_request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
    extras: { errors },
  });
}
