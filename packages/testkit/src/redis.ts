import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { makeTempDir, removeTempDir, type Spawned, spawnTracked, stopProcess } from './processes.js';
import { externalHandle, ownedHandle, type ServiceHandle } from './service-handle.js';
import { waitFor } from './wait-for.js';

export interface RedisOptions {
  /** Append-only file on, so data survives `kill()` + `restart()`. @defaultValue true */
  appendOnly?: boolean;
  /** Use this URL instead of starting a server (e.g. `REDIS_URL`). */
  url?: string;
  /** Keep data here across runs (not removed by `stop()`); default: a fresh temp dir. */
  dataDir?: string;
  /** Port to listen on; default: a free one. */
  port?: number;
}

/** Sends PING over a raw socket; true on +PONG. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Spawns redis-server on `port` with its data in `dir` (plus `extraArgs`) and waits,
 * bounded, until it answers PING.
 */
export async function launchRedisServer(
  binary: string,
  port: number,
  dir: string,
  extraArgs: readonly string[],
): Promise<Spawned> {
  const proc = spawnTracked(
    binary,
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--appendfsync', 'everysec', '--daemonize', 'no', '--logfile', ''],
      ...extraArgs,
    ],
    // Its own process group: a terminal's Ctrl-C (npm start) reaches the services,
    // which still need Redis to finish their jobs, but not Redis; its owner stops it.
    { detached: true },
  );
  try {
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`redis-server exited: ${proc.output()}`);
        return pingRedis(port);
      },
      { timeoutMs: 10_000, what: `redis-server on port ${port}` },
    );
  } catch (error) {
    await stopProcess(proc, 'SIGKILL');
    throw error;
  }
  return proc;
}

/** Starts a private redis-server on a free port in a temp dir (or wraps `options.url`). */
export async function startRedis(options: RedisOptions = {}): Promise<ServiceHandle> {
  if (options.url) return externalHandle('Redis', options.url, 6379);
  const binary = findBinary('redis-server');
  const port = options.port ?? (await freePort());
  const dir = options.dataDir ?? makeTempDir('redis');
  if (options.dataDir) mkdirSync(dir, { recursive: true });
  const appendOnly = options.appendOnly ?? true;
  let proc: Spawned | undefined;
  const launch = async () => {
    proc = await launchRedisServer(binary, port, dir, ['--appendonly', appendOnly ? 'yes' : 'no']);
  };
  await launch();

  return ownedHandle({
    url: () => `redis://127.0.0.1:${port}`,
    port: () => port,
    process: () => proc,
    launch,
    stopSignal: 'SIGTERM',
    cleanup: () => {
      if (!options.dataDir) removeTempDir(dir);
    },
  });
}
