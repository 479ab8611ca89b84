import { isDbUnavailable } from '@media-cluster/db';
import type { NextFunction, Request, Response } from 'express';
import { ApiError, CATALOGUE } from '../errors.js';
import type { Logger } from '../logger.js';
import { sendProblem } from './problem.js';
import { routeOf } from './request-context.js';

// body-parser / raw-body error types -> our codes.
const BODY_ERRORS: Record<string, ApiError['code']> = {
  'entity.parse.failed': 'invalid_json',
  'entity.too.large': 'payload_too_large',
  'encoding.unsupported': 'unsupported_media_type',
  'charset.unsupported': 'unsupported_media_type',
  'entity.verify.failed': 'invalid_request',
  'request.aborted': 'invalid_request',
  'request.size.invalid': 'invalid_request',
  'stream.encoding.set': 'internal',
};

/** Maps anything thrown to a catalogued ApiError. Unknown errors are 500s with a generic detail. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = (error ?? {}) as {
    type?: unknown;
    status?: unknown;
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  if (typeof e.type === 'string' && e.type in BODY_ERRORS) {
    const code = BODY_ERRORS[e.type]!;
    return new ApiError(code, code === 'internal' ? undefined : String(e.message), { cause: error });
  }
  const status = Number(e.status ?? e.statusCode);
  if (status >= 400 && status < 500) {
    // e.g. a path that is not valid percent-encoding (router's URIError, status 400).
    return new ApiError(status === 404 ? 'not_found' : 'invalid_request', undefined, { cause: error });
  }
  if (isDbUnavailable(error)) {
    return new ApiError('database_unavailable', 'The database is not reachable; try again shortly', {
      cause: error,
      headers: { 'retry-after': '5' },
    });
  }
  return new ApiError('internal', 'Something went wrong; quote the requestId when reporting it', {
    cause: error,
  });
}

/** The one error middleware: problem+json out, `http_error` logged (4xx info, 5xx error with the trace id). */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const apiError = toApiError(error);
    const log = req.state?.log ?? logger;
    const line = {
      event: 'http_error',
      code: apiError.code,
      status: apiError.status,
      method: req.method,
      route: routeOf(req),
      ...(req.state?.traceId ? { trace_id: req.state.traceId } : {}),
    };
    // The title, not the detail: details may quote client input (file names, paths).
    if (apiError.status >= 500)
      log.error({ ...line, err: apiError.cause ?? apiError }, CATALOGUE[apiError.code].title);
    else log.info(line, CATALOGUE[apiError.code].title);
    if (res.headersSent) {
      next(error);
      return;
    }
    sendProblem(req, res, apiError);
  };
}
