import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { ApiConfig, Rate } from '../config.js';
import type { Logger } from '../logger.js';
import type { RateLimitReason } from '../metrics.js';
import { withTimeout } from '../timeout.js';
import { type RateLimitKeys, rateLimitKeys } from './rate-limit-keys.js';
import { redisDown } from './redis-state.js';
import { guardedTake2, runScript, type ScriptRunner, take1 } from './scripts/index.js';

/** A limiter call that takes longer is given up on (the request goes through): 250 ms. */
const CALL_TIMEOUT_MS = 250;
/** At most one "limiter unavailable" warning per this long: 30 s. */
const WARN_EVERY_MS = 30_000;

/** One bucket's settings. */
export interface BucketLimit {
  rate: Rate;
  burst: number;
}

export interface RateLimits {
  jobs: BucketLimit | null;
  uploads: BucketLimit | null;
  authFailures: BucketLimit | null;
}

/** Why a request was refused, and when the client may try again. */
export interface Refusal {
  reason: RateLimitReason;
  retryAfterMs: number;
  limit: BucketLimit;
}

export type WriteKind = 'jobs' | 'uploads';

export interface RateLimiter {
  /**
   * Before a presented key is trusted: refuses when `address` has spent its
   * failed authentications, else (for a write) takes one of `owner`'s tokens.
   * Resolves undefined when the request may go on.
   */
  admit(address: string, write?: { owner: string; kind: WriteKind }): Promise<Refusal | undefined>;
  /** A failed authentication from `address`: takes one of its tokens; refuses once they are spent. */
  recordAuthFailure(address: string): Promise<Refusal | undefined>;
}

/** What the limiter needs of a Redis client: scripts, and ioredis' connection state. */
export type LimiterRedis = ScriptRunner & { readonly status?: string };

export interface RateLimiterOptions {
  redis: LimiterRedis;
  /** Key prefix (QUEUE_PREFIX). */
  prefix: string;
  limits: RateLimits;
  logger: Logger;
}

/** The limits of the api's config. */
export function rateLimitsFromConfig(config: ApiConfig): RateLimits {
  const bucket = (rate: Rate | null, burst: number) => (rate ? { rate, burst } : null);
  return {
    jobs: bucket(config.RATE_LIMIT_JOBS, config.RATE_LIMIT_JOBS_BURST),
    uploads: bucket(config.RATE_LIMIT_UPLOADS, config.RATE_LIMIT_UPLOADS_BURST),
    authFailures: bucket(config.RATE_LIMIT_AUTH_FAILURES, config.RATE_LIMIT_AUTH_FAILURES_BURST),
  };
}

type ScriptReply = [number, number, number];

/**
 * Token buckets in Redis, shared by every api replica: one Lua script call
 * per request. When Redis cannot answer (down, reconnecting, slower than
 * 250 ms) the request goes through: the limits protect the service, and
 * refusing every request because the limiter is blind would be the outage
 * they exist to prevent. Such a lapse is logged (at most every 30 s).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, limits, logger } = options;
  const keys: RateLimitKeys = rateLimitKeys(options.prefix);
  let lastWarning = 0;

  async function call(
    script: typeof take1,
    keyList: string[],
    args: (string | number)[],
  ): Promise<ScriptReply | undefined> {
    // ioredis queues commands while it reconnects: a lost connection means "no answer" now.
    if (redisDown(redis)) return unavailable(new Error(`redis connection: ${redis.status}`));
    try {
      // No CLIENT span per check: the server span's status already says 429.
      const reply = await context.with(suppressTracing(context.active()), () =>
        withTimeout(runScript(redis, script, keyList, args), CALL_TIMEOUT_MS),
      );
      if (reply === 'timeout') return unavailable(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`));
      return (reply as number[]).map(Number) as ScriptReply;
    } catch (error) {
      return unavailable(error);
    }
  }

  function unavailable(error: unknown): undefined {
    const now = Date.now();
    if (now - lastWarning >= WARN_EVERY_MS) {
      lastWarning = now;
      logger.warn(
        { event: 'rate_limiter_unavailable', err: error },
        'rate limiter cannot reach Redis: requests are not limited meanwhile',
      );
    }
    return undefined;
  }

  const args = (limit: BucketLimit | null) => (limit ? [String(limit.rate.perSecond), limit.burst] : [0, 0]);

  return {
    async admit(address, write) {
      const writeLimit = write ? limits[write.kind] : null;
      const guard = limits.authFailures;
      if (!guard && !writeLimit) return undefined;
      let reply: ScriptReply | undefined;
      if (writeLimit && write) {
        const key = write.kind === 'jobs' ? keys.ownerJobs(write.owner) : keys.ownerUploads(write.owner);
        reply = await call(
          guardedTake2,
          [keys.authFailures(address), key],
          [...args(guard), ...args(writeLimit)],
        );
        if (!reply || reply[0] === 0) return undefined;
        return reply[0] === 1
          ? { reason: 'auth_failures', retryAfterMs: reply[2], limit: guard! }
          : { reason: write.kind, retryAfterMs: reply[2], limit: writeLimit };
      }
      reply = await call(take1, [keys.authFailures(address)], [...args(guard), 0]);
      if (!reply || reply[0] === 1) return undefined;
      return { reason: 'auth_failures', retryAfterMs: reply[2], limit: guard! };
    },

    async recordAuthFailure(address) {
      const guard = limits.authFailures;
      if (!guard) return undefined;
      const reply = await call(take1, [keys.authFailures(address)], [...args(guard), 1]);
      if (!reply || reply[0] === 1) return undefined;
      return { reason: 'auth_failures', retryAfterMs: reply[2], limit: guard };
    },
  };
}
