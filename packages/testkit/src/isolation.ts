import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** A unique prefix for Redis keys/streams: `test-<uuid>`. */
export function uniqueName(label = 'test'): string {
  return `${label}-${randomUUID()}`;
}

export interface TestSchema {
  /** The schema name (`t_<hex>`). */
  readonly schema: string;
  /** `databaseUrl` with `options=-c search_path=<schema>`: every client on it sees only this schema. */
  readonly url: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** Creates a fresh Postgres schema so tests can run in parallel on one server. */
export async function createTestSchema(databaseUrl: string): Promise<TestSchema> {
  const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
