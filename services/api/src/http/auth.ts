import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey } from '../config.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics, AuthFailureReason } from '../metrics.js';
import { clientAddress } from '../overload/client-address.js';
import type { RateLimiter, Refusal, WriteKind } from '../overload/rate-limiter.js';
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

/** A 429 for a refusal of the rate limiter, counted by reason. */
function tooManyRequests(req: Request, metrics: ApiMetrics, refusal: Refusal): ApiError {
  const { reason, limit } = refusal;
  const retryAfter = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  metrics.rateLimited.add(1, metrics.rateLimitLabels(reason));
  req.state.log.info(
    { event: 'rate_limited', reason, route: routeOf(req), owner: req.state.owner },
    'request rate-limited',
  );
  const extras = { reason, limit: limit.rate.text, burst: limit.burst, retryAfterSeconds: retryAfter };
  const headers = { 'retry-after': String(retryAfter) };
  if (reason === 'auth_failures') {
    return new ApiError(
      'too_many_auth_failures',
      `Too many requests with a missing or invalid API key came from this address (limit ${limit.rate.text}, burst ${limit.burst}); try again in ${retryAfter} s`,
      { extras, headers },
    );
  }
  return new ApiError(
    'rate_limited',
    `This API key may make ${limit.rate.text} ${reason === 'jobs' ? 'job creations' : 'uploads'} (burst ${limit.burst}); try again in ${retryAfter} s`,
    { extras, headers },
  );
}

export interface ApiKeyAuthOptions {
  keys: readonly ApiKey[];
  metrics: ApiMetrics;
  /** Without one nothing is limited. */
  limiter?: RateLimiter;
}

/**
 * Bearer API keys. Keys are compared as sha256 digests with timingSafeEqual
 * (equal lengths, constant time), against every configured key without
 * stopping early, so timing says nothing about which key nearly matched.
 *
 * With a limiter: a missing or invalid key spends one of the client address'
 * failed-authentication tokens (429 once they are gone, instead of 401); a
 * valid key from an address that has none left is refused the same way, so
 * the answer never tells a guessed key from a wrong one. `authenticate('jobs')`
 * / `authenticate('uploads')` also take a token from the owner's bucket, in
 * the same Redis round trip, before a byte of the body is read.
 */
export function apiKeyAuth({ keys, metrics, limiter }: ApiKeyAuthOptions) {
  const digests = keys.map((k) => ({ digest: sha256(k.key), owner: k.owner }));
  const unauthorized = (detail: string) =>
    new ApiError('unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="media-cluster"' } });

  return function authenticate(write?: WriteKind) {
    return async (req: Request, _res: Response, next: NextFunction) => {
      const header = req.get('authorization');
      const match = header ? /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header.trim()) : null;
      let owner: string | undefined;
      if (header) {
        const presented = match ? sha256(match[1]!) : sha256(header);
        for (const k of digests) {
          if (timingSafeEqual(presented, k.digest) && match) owner = k.owner;
        }
      }
      if (!owner) {
        securityViolation(req, metrics, header ? 'invalid_key' : 'missing_key');
        const refusal = await limiter?.recordAuthFailure(clientAddress(req));
        if (refusal) throw tooManyRequests(req, metrics, refusal);
        throw header
          ? unauthorized('The API key is not valid')
          : unauthorized('Send Authorization: Bearer <api key>');
      }
      const refusal = await limiter?.admit(clientAddress(req), write && { owner, kind: write });
      if (refusal) {
        // The owner is only named (in the log line) when the key was not the question.
        if (refusal.reason !== 'auth_failures') req.state.owner = owner;
        throw tooManyRequests(req, metrics, refusal);
      }
      req.state.owner = owner;
      next();
    };
  };
}
