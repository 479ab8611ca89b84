import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { makeTempDir, removeTempDir, type Spawned, spawnTracked } from './processes.js';
import { externalHandle, ownedHandle, type ServiceHandle } from './service-handle.js';
import { waitFor } from './wait-for.js';

export interface PostgresOptions {
  /** Use this URL instead of starting a server (e.g. `DATABASE_URL`). */
  url?: string;
  /** Keep the cluster here across runs (initdb only when empty; not removed by `stop()`). */
  dataDir?: string;
  /** Port to listen on; default: a free one. */
  port?: number;
}

/** Root may not run postgres: find the `postgres` system user to run it as. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('Running as root but there is no "postgres" user: apt-get install postgresql');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the ")" of the command: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts a private PostgreSQL (initdb --no-sync, trust auth) on a free port in a temp dir. */
export async function startPostgres(options: PostgresOptions = {}): Promise<ServiceHandle> {
  if (options.url) return externalHandle('PostgreSQL', options.url, 5432);
  const initdb = findBinary('initdb');
  const postgres = findBinary('postgres');
  const user = postgresUser();
  const port = options.port ?? (await freePort());
  const dir = options.dataDir ?? makeTempDir('postgres');
  mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};

  if (!existsSync(join(data, 'PG_VERSION'))) {
    execFileSync(
      initdb,
      ['-D', data, '--no-sync', '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C'],
      {
        ...asUser,
        stdio: 'pipe',
        cwd: dir,
      },
    );
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: Spawned | undefined;

  const launch = async () => {
    // Its own process group, so kill() takes the backends down with the postmaster.
    proc = spawnTracked(
      postgres,
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        // fsync off: only an OS crash could lose data, and tests never crash the OS.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=64MB',
      ],
      { ...asUser, cwd: dir, detached: true },
    );
    const current = proc;
    await waitFor(
      async () => {
        if (current.child.exitCode !== null) throw new Error(`postgres exited: ${current.output()}`);
        return canConnect(url);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `postgres on port ${port}` },
    );
  };
  await launch();

  const killGroup = async () => {
    const current = proc;
    if (!current || current.child.exitCode !== null || current.child.signalCode !== null) return;
    const pid = current.child.pid ?? 0;
    // Backends are the postmaster's children in its process group; kill them
    // by pid as well, so none goes on answering on an open connection.
    const backends = childPids(pid);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      current.child.kill('SIGKILL');
    }
    for (const backend of backends) {
      try {
        process.kill(backend, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await current.exited;
    await waitFor(() => backends.every((b) => !isAlive(b)), { what: 'postgres backends to exit' });
    await waitFor(async () => !(await canConnect(url).catch(() => false)), { what: 'postgres to go down' });
  };

  return ownedHandle({
    url: () => url,
    port: () => port,
    process: () => proc,
    launch,
    // SIGINT is postgres' "fast" shutdown: roll back open transactions, exit.
    stopSignal: 'SIGINT',
    graceMs: 10_000,
    kill: killGroup,
    cleanup: () => {
      if (!options.dataDir) removeTempDir(dir);
    },
  });
}
