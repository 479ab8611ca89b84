import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import type { Backpressure } from '../overload/backpressure.js';
import { routeOf } from './request-context.js';

/**
 * Backpressure on job creation, before the body is read and before anything is
 * written: over JOB_BACKLOG_CEILING the answer is 503 `queue_full` with a
 * Retry-After from the backlog and the measured drain rate. An admitted request
 * holds its place in the count until it has written its stream entry
 * (`req.state.admission.enqueued()`) or its response is over.
 */
export function admitJob(backpressure: Backpressure | undefined, metrics: ApiMetrics) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!backpressure) {
      next();
      return;
    }
    const result = await backpressure.admit();
    if (!result.admitted) {
      metrics.jobsShed.add(1);
      const { backlog, ceiling, drainPerSecond, retryAfterSeconds } = result;
      req.state.log.info(
        { event: 'job_shed', route: routeOf(req), backlog, ceiling, retry_after_s: retryAfterSeconds },
        'job creation refused: backlog at its ceiling',
      );
      throw new ApiError(
        'queue_full',
        `The job queue holds ${backlog} jobs, its ceiling is ${ceiling}; try again in ${retryAfterSeconds} s`,
        {
          headers: { 'retry-after': String(retryAfterSeconds) },
          extras: {
            backlog,
            ceiling,
            drainPerSecond: drainPerSecond === undefined ? null : Math.round(drainPerSecond * 100) / 100,
            retryAfterSeconds,
          },
        },
      );
    }
    const { admission } = result;
    req.state.admission = admission;
    res.once('close', () => admission.release());
    next();
  };
}
