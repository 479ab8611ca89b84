import type { Logger } from '../logger.js';
import type { Admission } from '../overload/backpressure.js';

/** Per-request state the api's middleware set up, on `req`. */
export interface RequestState {
  requestId: string;
  /** Trace id of the server span (the log `correlation_id`), when traced. */
  traceId: string | undefined;
  log: Logger;
  /** Set by the auth middleware. */
  owner?: string;
  /** Job creation's place under the backlog ceiling (admitJob). */
  admission?: Admission;
}

declare global {
  namespace Express {
    interface Request {
      state: RequestState;
    }
  }
}
