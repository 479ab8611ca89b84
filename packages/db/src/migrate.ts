import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { DbError } from './errors.js';
import type { DbLogger, Queryable } from './queryable.js';

/** One numbered SQL file of `migrations/`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  logger?: DbLogger;
  /** Where the numbered `NNN_name.sql` files are. @defaultValue the package's `migrations/` */
  dir?: string;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  /** The highest version in the schema after the call. */
  current: number;
}

// `../migrations` is the same folder from src/ (tests) and dist/ (built services).
const DEFAULT_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
const cache = new Map<string, Migration[]>();

/** The migrations on disk, ordered by version. */
export function listMigrations(dir: string = DEFAULT_DIR): Migration[] {
  const cached = cache.get(dir);
  if (cached) return cached;
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE.exec(file);
      if (!match)
        throw new DbError('DB_MIGRATION_FAILED', `Migration file name "${file}" is not NNN_name.sql`);
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(match[1]),
        name: match[2]!,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && migrations[i - 1]!.version === m.version) {
      throw new DbError('DB_MIGRATION_FAILED', `Two migrations share version ${m.version}`);
    }
  });
  cache.set(dir, migrations);
  return migrations;
}

// One lock per schema: two processes migrating the same schema take turns,
// while tests migrating their own schemas do not wait on each other.
const LOCK_KEY = `hashtext('media-cluster:migrate:' || current_schema())`;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Applies every migration not yet in `schema_migrations`, each in its own
 * transaction, under a Postgres advisory lock so concurrent callers are safe
 * (the second one waits, then finds nothing to do). Refuses to run when an
 * applied migration's file has changed since, or the schema is newer than the code.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = listMigrations(options.dir);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    try {
      await client.query(CREATE_TABLE);
      const applied = await appliedVersions(client);
      checkApplied(migrations, applied);
      const done: number[] = [];
      for (const m of migrations) {
        if (applied.has(m.version)) continue;
        await applyOne(client, m);
        done.push(m.version);
        options.logger?.info(
          { event: 'migration_applied', version: m.version, migration: m.name },
          'migration applied',
        );
      }
      const current = Math.max(0, ...applied.keys(), ...done);
      return { applied: done, current };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A session that may still hold the lock must not be reused.
    client.release(broken);
  }
}

async function applyOne(client: pg.PoolClient, m: Migration): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(m.sql);
    await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      m.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new DbError(
      'DB_MIGRATION_FAILED',
      `Migration ${m.version}_${m.name} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function appliedVersions(db: Queryable): Promise<Map<number, string>> {
  const { rows } = await db.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations ORDER BY version',
  );
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

function checkApplied(migrations: Migration[], applied: Map<number, string>): void {
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const [version, checksum] of applied) {
    const m = known.get(version);
    if (!m) {
      throw new DbError(
        'DB_MIGRATION_UNKNOWN',
        `The database has migration ${version}, which this code does not know`,
      );
    }
    if (m.checksum !== checksum) {
      throw new DbError(
        'DB_MIGRATION_CHANGED',
        `Migration ${version}_${m.name} was changed after it was applied; add a new migration instead`,
      );
    }
  }
}

/** True when every migration on disk is recorded in `schema_migrations` (for `/ready`). */
export async function migrationsApplied(
  db: Queryable,
  options: Pick<MigrateOptions, 'dir'> = {},
): Promise<boolean> {
  const migrations = listMigrations(options.dir);
  let applied: Map<number, string>;
  try {
    applied = await appliedVersions(db);
  } catch (error) {
    // 42P01 undefined_table: never migrated.
    if ((error as { code?: string }).code === '42P01') return false;
    throw error;
  }
  return migrations.every((m) => applied.get(m.version) === m.checksum);
}
