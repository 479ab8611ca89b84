import type { Request, Response } from 'express';
import { type ApiError, CATALOGUE, problemType } from '../errors.js';

/** Sends an ApiError as RFC 9457 application/problem+json. */
export function sendProblem(req: Request, res: Response, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const body = {
    type: problemType(error.code),
    title: CATALOGUE[error.code].title,
    status: error.status,
    detail: error.message,
    // The path without the query: the caller's own resource, safe to echo back.
    instance: req.originalUrl.split('?')[0],
    requestId: req.state?.requestId,
    code: error.code,
    ...error.extras,
  };
  res.status(error.status).type('application/problem+json').send(JSON.stringify(body));
}
