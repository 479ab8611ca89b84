import { migrationsApplied } from '@media-cluster/db';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { CheckResult as CheckResultSchema, Health, NotReady, Ready } from '../contract/schemas.js';
import type { AppDeps } from '../deps.js';
import { redisDown } from '../overload/redis-state.js';
import { withTimeout } from '../timeout.js';

/** Each dependency check gets this long: 2 s. */
const CHECK_TIMEOUT_MS = 2_000;

export type CheckResult = z.output<typeof CheckResultSchema>;

export interface Readiness {
  ready: boolean;
  checks: z.output<typeof Ready>['checks'];
}

function check(probe: () => Promise<CheckResult>): Promise<CheckResult> {
  return withTimeout(
    probe().catch((): CheckResult => 'unreachable'),
    CHECK_TIMEOUT_MS,
  );
}

/** Redis PING, Postgres SELECT 1 and "every migration applied", in parallel, each bounded. */
export async function checkReadiness(deps: Pick<AppDeps, 'db' | 'redis'>): Promise<Readiness> {
  const { db, redis } = deps;
  const [redisCheck, postgres, migrations] = await Promise.all([
    check(async () => {
      if (!redis) return 'not_configured';
      // ioredis queues commands while it reconnects: a lost connection is down now, not after a timeout.
      if (redisDown(redis)) return 'unreachable';
      return (await redis.ping()) === 'PONG' ? 'ok' : 'unreachable';
    }),
    check(async () => {
      await db.query('SELECT 1');
      return 'ok';
    }),
    check(async () => ((await migrationsApplied(db)) ? 'ok' : 'pending')),
  ]);
  const checks = { redis: redisCheck, postgres, migrations };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}

/** GET /health: the process is up. */
export function health() {
  return (_req: Request, res: Response) => {
    res.setHeader('cache-control', 'no-store');
    res.json({ status: 'ok' } satisfies z.output<typeof Health>);
  };
}

/** GET /ready: 200 when every dependency answers, else 503 naming the failed ones. */
export function ready(deps: Pick<AppDeps, 'db' | 'redis' | 'logger'>) {
  return async (_req: Request, res: Response) => {
    const readiness = await checkReadiness(deps);
    res.setHeader('cache-control', 'no-store');
    if (readiness.ready) {
      res.json({ status: 'ready', checks: readiness.checks } satisfies z.output<typeof Ready>);
      return;
    }
    const failed = (Object.keys(readiness.checks) as (keyof Readiness['checks'])[]).filter(
      (name) => readiness.checks[name] !== 'ok',
    );
    res
      .status(503)
      .json({ status: 'unavailable', failed, checks: readiness.checks } satisfies z.output<typeof NotReady>);
  };
}
