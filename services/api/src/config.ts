import { isIP } from 'node:net';
import {
  envCallbackAllowList,
  envHost,
  envInt,
  envList,
  envPort,
  envUrl,
  loadConfig,
} from '@media-cluster/config';
import { PHOTO_LIMITS } from '@media-cluster/photo';
import { queueEnv } from '@media-cluster/queue';
import { z } from 'zod';

const MB = 1024 * 1024;
const OWNER = /^[A-Za-z0-9._-]{1,64}$/;
const RATE_UNITS = { s: 1, min: 60, h: 3_600 } as const;

/** A token bucket's refill rate (`20/s`, `30/min`, `100/h`), or `null` for `off`. */
export interface Rate {
  /** Tokens added per second. */
  perSecond: number;
  /** As configured, for messages and problem bodies (`20/s`). */
  text: string;
}

/** `<count>/<s|min|h>` or `off`. */
const envRate = () =>
  z.string().transform((value, ctx): Rate | null => {
    const text = value.trim();
    if (text === 'off') return null;
    const match = /^(\d{1,9})\/(s|min|h)$/.exec(text);
    const count = Number(match?.[1]);
    if (!match || count < 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected <count>/s, <count>/min, <count>/h (count >= 1) or off',
      });
      return z.NEVER;
    }
    return { perSecond: count / RATE_UNITS[match[2] as keyof typeof RATE_UNITS], text };
  });

/**
 * `TRUST_PROXY`: how the client address is found behind proxies (express's
 * `trust proxy`): a number of proxy hops, or addresses / CIDR ranges /
 * `loopback`, `linklocal`, `uniquelocal` whose `X-Forwarded-For` is believed.
 */
const envTrustProxy = () =>
  z.string().transform((value, ctx): number | string[] => {
    const text = value.trim();
    if (/^\d{1,2}$/.test(text)) return Number(text);
    const entries = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
    const bad = entries.filter((e) => {
      if (named.has(e)) return false;
      const [address = '', bits, ...rest] = e.split('/');
      const family = isIP(address);
      if (family === 0 || rest.length > 0) return true;
      if (bits === undefined) return false;
      return !/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128);
    });
    if (entries.length === 0 || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a hop count or addresses/CIDR ranges/loopback/linklocal/uniquelocal${bad.length ? ` (not: ${bad.join(', ')})` : ''}`,
      });
      return z.NEVER;
    }
    return entries;
  });

/** One `key:owner` pair of `API_KEYS`. */
export interface ApiKey {
  key: string;
  owner: string;
}

/** `API_KEYS`: comma-separated `key:owner` pairs; keys at least 8 characters and unique. */
const apiKeys = () =>
  envList().transform((pairs, ctx): ApiKey[] => {
    const keys: ApiKey[] = [];
    pairs.forEach((pair, i) => {
      const at = pair.lastIndexOf(':');
      const key = at > 0 ? pair.slice(0, at) : '';
      const owner = at > 0 ? pair.slice(at + 1) : '';
      // Never echo the pair: it holds a secret.
      if (key.length < 8 || /\s/.test(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1}: expected key:owner with a key of 8+ characters`,
        });
      } else if (!OWNER.test(owner)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: owner must be 1-64 of A-Z a-z 0-9 . _ -` });
      } else if (keys.some((k) => k.key === key)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: the same key is listed twice` });
      } else {
        keys.push({ key, owner });
      }
    });
    if (keys.length === 0 && pairs.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one key:owner pair' });
    }
    return keys;
  });

const schema = z.object({
  /** Public HTTP port. */
  PORT: envPort().default(8080),
  /**
   * Interface PORT and METRICS_PORT listen on: loopback unless told otherwise (the
   * container image sets 0.0.0.0).
   */
  HOST: envHost().default('127.0.0.1'),
  /** `/metrics` (and /health, /ready) for Prometheus, off the public port. */
  METRICS_PORT: envPort().default(9464),
  /** When set, `/metrics` wants `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  /** REDIS_URL, REDIS_CLUSTER_NODES, QUEUE_SHARDS: the queue's own (shards by pet), same in api and worker. */
  ...queueEnv,
  DATABASE_URL: envUrl(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  API_KEYS: apiKeys(),
  /**
   * Where a job's callbackUrl may point: host names, IP addresses and CIDR ranges, each
   * optionally `:port` (rules in @media-cluster/config `AllowRule`); empty: no callbacks.
   */
  CALLBACK_ALLOWED_HOSTS: envCallbackAllowList().default([]),
  /** Per photo: 15 MB (@media-cluster/photo PHOTO_LIMITS). */
  MAX_PHOTO_BYTES: envInt(1, 1024 * MB).default(PHOTO_LIMITS.maxBytes),
  /** Files per upload request. */
  MAX_PHOTOS: envInt(1, 1_000).default(50),
  /** Whole multipart request: 100 MB. */
  MAX_UPLOAD_BYTES: envInt(1, 4096 * MB).default(100 * MB),
  /** JSON bodies: 32 KB, room for MAX_JOB_PHOTOS (500) photo ids (~19.5 KB) and a callbackUrl. */
  MAX_JSON_BYTES: envInt(2, MB).default(32 * 1024),
  /**
   * Photos one clustering job may cluster (its photoIds, or the pet's photos when
   * it names none): the worker's memory per job grows with it. The worker checks
   * it again. 5,000 at most: clustering keeps an n x n distance matrix (8n² bytes).
   */
  MAX_JOB_PHOTOS: envInt(1, 5_000).default(500),
  /** Decoded size limit (width x height) checked from the header before decoding: 40 Mpx (PHOTO_LIMITS). */
  MAX_PIXELS: envInt(1).default(PHOTO_LIMITS.maxPixels),
  /** Blob store root (shared with the worker). */
  PHOTO_DIR: z.string().default('.data/photos'),
  /** Prefix of the Redis stream names (`<prefix>:jobs`, ...), same as the worker's. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/i, { error: 'expected letters, digits, : _ -' })
    .default('media-cluster'),
  /** `Retry-After` on 202: how soon a client should poll the job: 1 s. */
  RETRY_AFTER_SECONDS: envInt(0, 3_600).default(1),
  /**
   * Job creations per owner (token bucket in Redis, shared by every api replica):
   * refill rate and bucket size. Over it: 429 `rate_limited`. Generous by default:
   * it keeps one owner from taking everyone's share; JOB_BACKLOG_CEILING guards capacity.
   */
  RATE_LIMIT_JOBS: envRate().default({ perSecond: 20, text: '20/s' }),
  RATE_LIMIT_JOBS_BURST: envInt(1, 1_000_000).default(200),
  /** Upload requests per owner, as RATE_LIMIT_JOBS. */
  RATE_LIMIT_UPLOADS: envRate().default({ perSecond: 20, text: '20/s' }),
  RATE_LIMIT_UPLOADS_BURST: envInt(1, 1_000_000).default(200),
  /**
   * Failed authentications (missing or invalid key) per client address; once spent,
   * every request from that address is 429 `too_many_auth_failures` until tokens
   * refill, valid keys included (so a guess that hits cannot be told from one that
   * misses). 30/min, 60 at once.
   */
  RATE_LIMIT_AUTH_FAILURES: envRate().default({ perSecond: 0.5, text: '30/min' }),
  RATE_LIMIT_AUTH_FAILURES_BURST: envInt(1, 1_000_000).default(60),
  /** Unset: the client address is the socket's. Behind a load balancer: its hop count or addresses. */
  TRUST_PROXY: envTrustProxy().optional(),
  /**
   * Job creation is refused (503 `queue_full`) while the stream's backlog (entries not
   * yet acknowledged plus retries waiting) is at this many jobs; 0 turns it off. Size
   * it as drain rate x the queue-latency objective (60 s) with a margin: 1,000 jobs.
   */
  JOB_BACKLOG_CEILING: envInt(0, 10_000_000).default(1_000),
  /** How long one backlog reading (XINFO GROUPS + ZCARD) is reused: 250 ms. */
  BACKLOG_CACHE_MS: envInt(10, 60_000).default(250),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** In-flight requests get this long to finish on SIGTERM: 10 s. */
  SHUTDOWN_GRACE_MS: envInt(0).default(10_000),
});

export type ApiConfig = Readonly<z.output<typeof schema>>;

/** Validates the api's environment once; throws ConfigError listing every bad key. */
export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return loadConfig(schema, env);
}
