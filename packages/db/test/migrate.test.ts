import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { isDbError, listMigrations, migrate, migrationsApplied } from '../src/index.js';
import { openTestDb, type TestDb } from './helpers.js';

let db: TestDb | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await db?.close();
  db = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'db-migrations-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe('migrate', () => {
  it('finds the numbered files shipped with the package', () => {
    const migrations = listMigrations();
    expect(migrations[0]).toMatchObject({ version: 1, name: 'init' });
    expect(migrations.map((m) => m.version)).toEqual(
      [...migrations.map((m) => m.version)].sort((a, b) => a - b),
    );
  });

  it('creates every table and records the versions, and is a no-op the second time', async () => {
    db = await openTestDb({ migrated: false });
    expect(await migrationsApplied(db.pool)).toBe(false);
    const first = await migrate(db.pool);
    expect(first.applied).toEqual(listMigrations().map((m) => m.version));
    expect(await migrationsApplied(db.pool)).toBe(true);

    const { rows } = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'cluster_members',
      'clusters',
      'jobs',
      'pets',
      'photos',
      'schema_migrations',
    ]);

    const second = await migrate(db.pool);
    expect(second).toEqual({ applied: [], current: first.current });
  });

  it('is safe when two runners (separate pools, like two processes) migrate at once', async () => {
    db = await openTestDb({ migrated: false });
    const other = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const logged: object[] = [];
      const logger = { info: (obj: object) => logged.push(obj) };
      const results = await Promise.all([migrate(db.pool, { logger }), migrate(other, { logger })]);
      // Exactly one of them applied the migrations; the other waited on the lock and found nothing to do.
      const appliedCounts = results.map((r) => r.applied.length).sort();
      expect(appliedCounts).toEqual([0, listMigrations().length]);
      expect(logged).toHaveLength(listMigrations().length);
      const { rows } = await db.pool.query('SELECT version FROM schema_migrations');
      expect(rows).toHaveLength(listMigrations().length);
    } finally {
      await other.end();
    }
  });

  it('rolls back a failing migration and keeps the earlier ones', async () => {
    db = await openTestDb({ migrated: false });
    const dir = migrationsDir({
      '001_ok.sql': 'CREATE TABLE a (id int);',
      '002_bad.sql': 'CREATE TABLE b (id int); SELECT * FROM no_such_table;',
    });
    await expect(migrate(db.pool, { dir })).rejects.toSatisfy((e) => isDbError(e, 'DB_MIGRATION_FAILED'));
    const { rows } = await db.pool.query<{ version: number }>('SELECT version FROM schema_migrations');
    expect(rows.map((r) => r.version)).toEqual([1]);
    const b = await db.pool.query(`SELECT to_regclass('b') AS b`);
    expect(b.rows[0].b).toBeNull();
    expect(await migrationsApplied(db.pool, { dir })).toBe(false);
    // The lock was released: a fixed file set migrates afterwards.
    const fixed = migrationsDir({
      '001_ok.sql': 'CREATE TABLE a (id int);',
      '002_bad.sql': 'CREATE TABLE b (id int);',
    });
    expect((await migrate(db.pool, { dir: fixed })).applied).toEqual([2]);
  });

  it('refuses to run when an applied migration was edited', async () => {
    db = await openTestDb({ migrated: false });
    await migrate(db.pool, { dir: migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' }) });
    const edited = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id bigint);' });
    await expect(migrate(db.pool, { dir: edited })).rejects.toSatisfy((e) =>
      isDbError(e, 'DB_MIGRATION_CHANGED'),
    );
    expect(await migrationsApplied(db.pool, { dir: edited })).toBe(false);
  });

  it('refuses to run against a schema newer than the code', async () => {
    db = await openTestDb({ migrated: false });
    await migrate(db.pool, {
      dir: migrationsDir({ '001_a.sql': 'SELECT 1;', '002_b.sql': 'SELECT 2;' }),
    });
    const older = migrationsDir({ '001_a.sql': 'SELECT 1;' });
    await expect(migrate(db.pool, { dir: older })).rejects.toSatisfy((e) =>
      isDbError(e, 'DB_MIGRATION_UNKNOWN'),
    );
  });
});
