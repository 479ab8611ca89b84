import { isUuid } from '@media-cluster/db';
import type { z } from 'zod';
import { ApiError } from './errors.js';

/** Pet ids: 1-64 of letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const PET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Idempotency-Key: 1-255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function petIdParam(value: unknown): string {
  if (typeof value !== 'string' || !PET_ID.test(value)) {
    throw new ApiError(
      'invalid_id',
      'A pet id is 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)',
    );
  }
  return value;
}

export function jobIdParam(value: unknown): string {
  if (typeof value !== 'string' || !isUuid(value)) throw new ApiError('invalid_id', 'A job id is a UUID');
  return value.toLowerCase();
}

export function idempotencyKeyHeader(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(value)) {
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
