import { createHash, randomUUID } from 'node:crypto';
import { createTestSchema } from '@media-cluster/testkit';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate, type NewPhoto } from '../src/index.js';

export interface TestDb {
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

/** A pool on a fresh schema; migrated unless `migrated: false`. */
export async function openTestDb({ migrated = true } = {}): Promise<TestDb> {
  const schema = await createTestSchema(inject('databaseUrl'));
  const pool = new pg.Pool({ connectionString: schema.url, max: 4 });
  if (migrated) await migrate(pool);
  return {
    pool,
    url: schema.url,
    async close() {
      await pool.end();
      await schema.drop();
    },
  };
}

/** A photo with made-up bytes (the db does not look at them). */
export function fakePhoto(seed: string = randomUUID()): NewPhoto {
  return {
    sha256: createHash('sha256').update(seed).digest('hex'),
    width: 640,
    height: 480,
    bytes: 1234,
    contentType: 'image/jpeg',
  };
}
