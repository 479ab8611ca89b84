import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../src/index.js';

describe('createPool', () => {
  const sockets: Socket[] = [];
  // A "server" that accepts connections and never answers: what a client sees of a
  // Postgres that was killed while its port stayed open, or a half-open connection.
  const silent = createServer((socket) => sockets.push(socket));
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });

  it('gives up on a server that accepts but never answers, instead of hanging', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const idleErrors: Error[] = [];
    const pool = createPool(`postgres://nobody@127.0.0.1:${port}/none`, {
      max: 1,
      onIdleError: (error) => idleErrors.push(error),
    });
    const started = Date.now();
    await expect(pool.query('SELECT 1')).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(sockets.length).toBeGreaterThanOrEqual(1);
    await pool.end();
    expect(idleErrors).toEqual([]);
  }, 20_000);

  it('works against a real server', async () => {
    const pool = createPool(inject('databaseUrl'), { max: 1, onIdleError: () => {} });
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
    await pool.end();
  });
});
