import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiError } from '../errors.js';

/**
 * JSON bodies only: a body with another Content-Type is 415, an empty body is
 * `{}`, and parse/size errors reach the error middleware as 400/413.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    const length = req.get('content-length');
    const hasBody = length !== undefined ? Number(length) > 0 : req.get('transfer-encoding') !== undefined;
    if (!hasBody) {
      req.body = {};
      next();
      return;
    }
    if (!req.is(['application/json', 'application/*+json'])) {
      throw new ApiError('unsupported_media_type', 'Send the body as application/json');
    }
    parse(req, res, next);
  };
}
