import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  canConnect,
  createTestSchema,
  pingRedis,
  startPostgres,
  startRedis,
  uniqueName,
} from '../src/index.js';

describe('startRedis', () => {
  it('starts, survives restart with AOF, and a killed instance is seen as down', async () => {
    const redis = await startRedis({ appendOnly: true });
    try {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      client.on('error', () => {});
      await client.connect();
      const key = uniqueName('k');
      await client.set(key, 'kept');
      await client.call('BGREWRITEAOF').catch(() => {}); // not required: AOF is on already
      client.disconnect();

      await redis.kill();
      expect(await pingRedis(redis.port)).toBe(false);

      await redis.restart();
      expect(await pingRedis(redis.port)).toBe(true);
      const again = new Redis(redis.url);
      expect(await again.get(key)).toBe('kept');
      again.disconnect();
    } finally {
      await redis.stop();
      await redis.stop(); // safe twice
    }
    expect(await pingRedis(redis.port)).toBe(false);
  });

  it('the shared instance answers', async () => {
    const url = new URL(inject('redisUrl'));
    expect(await pingRedis(Number(url.port))).toBe(true);
  });
});

describe('startPostgres', () => {
  const handles: { stop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const h of handles) await h.stop();
  });

  it('starts, keeps data across kill + restart, and a killed instance is down', async () => {
    const postgres = await startPostgres();
    handles.push(postgres);
    const client = new pg.Client(postgres.url);
    await client.connect();
    await client.query('CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)');
    await client.end();

    await postgres.kill();
    expect(await canConnect(postgres.url).catch(() => false)).toBe(false);

    await postgres.restart();
    const after = new pg.Client(postgres.url);
    await after.connect();
    const { rows } = await after.query('SELECT v FROM t');
    await after.end();
    expect(rows).toEqual([{ v: 'kept' }]);
  });

  it('gives each test its own schema on the shared server', async () => {
    const a = await createTestSchema(inject('databaseUrl'));
    const b = await createTestSchema(inject('databaseUrl'));
    try {
      const ca = new pg.Client(a.url);
      const cb = new pg.Client(b.url);
      await Promise.all([ca.connect(), cb.connect()]);
      await ca.query('CREATE TABLE only_here (id int)');
      const seenFromB = await cb.query(`SELECT to_regclass('only_here') AS t`);
      const seenFromA = await ca.query(`SELECT to_regclass('only_here') AS t`);
      await Promise.all([ca.end(), cb.end()]);
      expect(seenFromA.rows[0].t).toBe('only_here');
      expect(seenFromB.rows[0].t).toBeNull();
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});
