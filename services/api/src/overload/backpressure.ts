import type { QueueNames } from '@media-cluster/queue';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';
import { type BacklogRedis, readBacklog } from './backlog.js';
import { redisDown } from './redis-state.js';

/** Retry-After bounds on a 503 `queue_full`: 1 s to 60 s. */
export const RETRY_AFTER_MIN_S = 1;
export const RETRY_AFTER_MAX_S = 60;
/** The drain rate is measured over the readings of this window: 15 s. */
const DRAIN_WINDOW_MS = 15_000;
/** A drain rate needs readings at least this far apart: 1 s. */
const DRAIN_MIN_SPAN_MS = 1_000;
/** How long a request waits for a new reading before it goes on with the last one: 500 ms. */
const READ_WAIT_MS = 500;
/** A metric collection waits this long for a reading: 2 s. */
const GAUGE_WAIT_MS = 2_000;
/** Without a reading this recent, job creation is not held back (Redis is down; the XADD will say so): 10 s. */
const BLIND_AFTER_MS = 10_000;
/** At most one "cannot read the backlog" warning per this long: 30 s. */
const WARN_EVERY_MS = 30_000;

/** A job admitted under the ceiling: tell the counter how it ended. */
export interface Admission {
  /** Its stream entry was written. */
  enqueued(): void;
  /** The request ended (answered, failed, or the client went away); a no-op after enqueued(). */
  release(): void;
}

export type AdmitResult =
  | { admitted: true; admission: Admission }
  | {
      admitted: false;
      /** The backlog as this replica counts it (last reading + its own admissions since). */
      backlog: number;
      ceiling: number;
      /** Jobs finished per second, measured; undefined while unknown (no worker, or too few readings). */
      drainPerSecond: number | undefined;
      retryAfterSeconds: number;
    };

export interface Backpressure {
  /** JOB_BACKLOG_CEILING; 0 = off. */
  readonly ceiling: number;
  /** Admits one job creation, or says why not. Call before anything is written. */
  admit(): Promise<AdmitResult>;
  /**
   * For the gauge: the last reading (taken again when older than the cache
   * interval) plus the entries this replica wrote since.
   */
  backlog(): Promise<number | undefined>;
}

export interface BackpressureOptions {
  redis: BacklogRedis & { readonly status?: string };
  names: QueueNames;
  ceiling: number;
  /** How long a reading is reused. */
  cacheMs: number;
  logger: Logger;
  /** For tests. @defaultValue Date.now */
  now?: () => number;
  /** Spread of Retry-After (0..1). @defaultValue Math.random */
  random?: () => number;
}

/**
 * Seconds until a refused client should try again: the time for the measured
 * drain to take the backlog back under the ceiling with a tenth of it to spare,
 * stretched by up to a quarter at random so refused clients do not all return
 * in the same second; 60 s when nothing drains.
 */
export function retryAfterSeconds(
  backlog: number,
  ceiling: number,
  drainPerSecond: number | undefined,
  random = 0,
): number {
  const excess = backlog - ceiling + Math.max(1, Math.ceil(ceiling * 0.1));
  const seconds = drainPerSecond && drainPerSecond > 0 ? excess / drainPerSecond : RETRY_AFTER_MAX_S;
  return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, Math.ceil(seconds * (1 + 0.25 * random))));
}

const NOOP: Admission = { enqueued() {}, release() {} };

interface Reading {
  backlog: number;
  /** When the read was sent (ms): it saw at least everything enqueued before. */
  at: number;
  /** `enqueued` when the read was sent. */
  enqueuedMark: number;
}

/**
 * Admission control on the job stream's backlog. A request is admitted while
 * `last reading + entries this replica wrote since it was sent + admissions
 * still in flight` is under the ceiling. A reading (XINFO GROUPS + ZCARD, see
 * readBacklog) is reused for `cacheMs`; the first request after that waits for
 * a new one (at most 500 ms), and the requests arriving meanwhile share it, so
 * Redis sees one read per interval per replica however busy the api is.
 * Within one replica the sum is an upper bound of the true backlog (workers
 * only take away), so the ceiling holds exactly; replicas learn of each
 * other's admissions at their next reading, so with N replicas the backlog
 * may pass the ceiling by what the others admit within one cache interval.
 */
export function createBackpressure(options: BackpressureOptions): Backpressure {
  const { redis, names, ceiling, cacheMs, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let reading: Reading | undefined;
  let refreshing: Promise<void> | undefined;
  let inFlight = 0;
  let enqueued = 0;
  let lastWarning = 0;
  /** (time, acked) of recent readings, oldest first: the drain rate. */
  const samples: { at: number; acked: number }[] = [];

  function refresh(): Promise<void> {
    if (refreshing) return refreshing;
    const at = now();
    const enqueuedMark = enqueued;
    // Suppressed root context: no request's trace gets this background read.
    refreshing = context
      .with(suppressTracing(ROOT_CONTEXT), () => readBacklog(redis, names, { countLimit: ceiling + 1 }))
      .then(
        (r) => {
          reading = { backlog: r.backlog, at, enqueuedMark };
          if (r.acked !== undefined) {
            samples.push({ at, acked: r.acked });
            while (samples.length > 2 && samples[0]!.at < at - DRAIN_WINDOW_MS) samples.shift();
          }
        },
        (error: unknown) => {
          if (now() - lastWarning >= WARN_EVERY_MS) {
            lastWarning = now();
            logger.warn({ event: 'backlog_unreadable', err: error }, 'cannot read the job backlog');
          }
        },
      )
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  const redisReady = () => !redisDown(redis);

  /**
   * The backlog as last read plus what this api enqueued since, read again first when the
   * reading is stale (waiting at most `waitMs`); undefined when blind (no reading for too long).
   */
  async function known(waitMs: number): Promise<number | undefined> {
    if ((!reading || now() - reading.at >= cacheMs) && redisReady()) await withTimeout(refresh(), waitMs);
    if (!reading || now() - reading.at > BLIND_AFTER_MS) return undefined;
    return reading.backlog + (enqueued - reading.enqueuedMark);
  }

  function drainPerSecond(): number | undefined {
    const first = samples[0];
    const last = samples.at(-1);
    if (!first || !last || last.at - first.at < DRAIN_MIN_SPAN_MS) return undefined;
    return Math.max(0, ((last.acked - first.acked) * 1000) / (last.at - first.at));
  }

  function admission(): Admission {
    inFlight++;
    let state: 'pending' | 'enqueued' | 'released' = 'pending';
    return {
      enqueued() {
        if (state === 'enqueued') return;
        // Released first (the client left while the XADD was under way): the entry still counts.
        if (state === 'pending') inFlight--;
        state = 'enqueued';
        enqueued++;
      },
      release() {
        if (state !== 'pending') return;
        state = 'released';
        inFlight--;
      },
    };
  }

  return {
    ceiling,

    async admit() {
      if (ceiling === 0) return { admitted: true, admission: NOOP };
      const read = await known(READ_WAIT_MS);
      if (read === undefined) return { admitted: true, admission: admission() };
      const backlog = read + inFlight;
      if (backlog < ceiling) return { admitted: true, admission: admission() };
      const drain = drainPerSecond();
      return {
        admitted: false,
        backlog,
        ceiling,
        drainPerSecond: drain,
        retryAfterSeconds: retryAfterSeconds(backlog, ceiling, drain, random()),
      };
    },

    backlog: () => known(GAUGE_WAIT_MS),
  };
}
