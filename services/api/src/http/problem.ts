import type { Request, Response } from 'express';
import { type ApiError, CATALOGUE, problemType } from '../errors.js';

/** The problem+json members every answer of `error` has (RFC 9457 plus our `code` and extras). */
export function problemBody(error: ApiError): Record<string, unknown> {
  return {
    type: problemType(error.code),
    title: CATALOGUE[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...error.extras,
  };
}

/** Sends an ApiError as RFC 9457 application/problem+json. */
export function sendProblem(req: Request, res: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const body = {
    ...problemBody(error),
    // The path without the query: the caller's own resource, safe to echo back.
    instance: req.originalUrl.split('?')[0],
    requestId: req.state?.requestId,
  };
  res.status(error.status).type('application/problem+json').send(JSON.stringify(body));
}
