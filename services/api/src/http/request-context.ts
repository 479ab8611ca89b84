import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import { serverSpanContext, traceResponseHeader } from '../trace-context.js';
import './request-state.js';

/** Incoming ids we pass on: short, printable, no spaces (anything else is replaced). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The route template of a request, never its raw path (which holds pet ids). */
export function routeOf(req: Request): string {
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/**
 * First middleware: request id (kept from `X-Request-Id` when sane, else new),
 * `traceresponse` of the server span, a child logger with `request_id` and
 * `correlation_id` (the trace id), and one `http_request` line per response.
 */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const spanContext = serverSpanContext();
    const traceId = spanContext?.traceId;
    res.setHeader('x-request-id', requestId);
    if (spanContext) res.setHeader('traceresponse', traceResponseHeader(spanContext));
    const log = logger.child({ request_id: requestId, ...(traceId ? { correlation_id: traceId } : {}) });
    req.state = { requestId, traceId, log };

    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      log.info(
        {
          event: 'http_request',
          method: req.method,
          route: routeOf(req),
          status: res.statusCode,
          duration_ms: Math.round(durationMs * 1000) / 1000,
          bytes_in: Number(req.get('content-length') ?? 0) || 0,
          bytes_out: Number(res.getHeader('content-length') ?? 0) || 0,
        },
        'http request',
      );
    });
    next();
  };
}
