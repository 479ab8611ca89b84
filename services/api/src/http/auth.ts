import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey } from '../config.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics, AuthFailureReason } from '../metrics.js';
import { routeOf } from './request-context.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Logs and counts a refused request; never logs the key. */
export function securityViolation(req: Request, metrics: ApiMetrics, reason: AuthFailureReason): void {
  metrics.authFailures.add(1, metrics.authFailureLabels(reason));
  req.state.log.warn(
    { event: 'security_violation', reason, method: req.method, route: routeOf(req), owner: req.state.owner },
    'request refused',
  );
}

/**
 * Bearer API keys. Keys are compared as sha256 digests with timingSafeEqual
 * (equal lengths, constant time), against every configured key without
 * stopping early, so timing says nothing about which key nearly matched.
 */
export function requireApiKey(keys: readonly ApiKey[], metrics: ApiMetrics) {
  const digests = keys.map((k) => ({ digest: sha256(k.key), owner: k.owner }));
  const unauthorized = (detail: string) =>
    new ApiError('unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="media-cluster"' } });

  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) {
      securityViolation(req, metrics, 'missing_key');
      throw unauthorized('Send Authorization: Bearer <api key>');
    }
    const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header.trim());
    const presented = match ? sha256(match[1]!) : sha256(header);
    let owner: string | undefined;
    for (const k of digests) {
      if (timingSafeEqual(presented, k.digest) && match) owner = k.owner;
    }
    if (!owner) {
      securityViolation(req, metrics, 'invalid_key');
      throw unauthorized('The API key is not valid');
    }
    req.state.owner = owner;
    next();
  };
}
