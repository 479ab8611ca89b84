import pg from 'pg';

export interface PoolOptions {
  max: number;
  /** Called when an idle client loses its server; the next query reports the outage itself. */
  onIdleError: (error: Error) => void;
}

/**
 * A Postgres pool that never waits forever on a server that is gone: new
 * connections give up after 5 s, queries after 30 s (a server killed without
 * closing its sockets, or a half-open connection), and TCP keep-alive notices
 * dead peers. Callers see an error and retry instead of hanging a request or
 * a job.
 */
export function createPool(connectionString: string, { max, onIdleError }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
    keepAlive: true,
  });
  pool.on('error', onIdleError);
  return pool;
}
