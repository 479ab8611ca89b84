import type pg from 'pg';

/** A pool or a checked-out client: anything that runs one query. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** Minimal logger seam (pino-compatible). */
export interface DbLogger {
  info(obj: object, msg?: string): void;
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one client checked out from `pool`
 * (ROLLBACK when it throws), and always releases the client.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // A connection that cannot roll back must not go back to the pool.
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
