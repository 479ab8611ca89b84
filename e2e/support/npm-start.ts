// `npm start` as a person runs it: the real scripts/start.mjs as a child, in a
// process group of its own (a terminal's foreground job), with its data dir
// and every port of its own (DATA_DIR, PORT, METRICS_PORT, WORKER_METRICS_PORT,
// EMBEDDED_REDIS_PORT, EMBEDDED_POSTGRES_PORT), embedded Redis and Postgres,
// no demo. Build first (npm test does).
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  makeTempDir,
  type OtlpReceiver,
  removeTempDir,
  type Spawned,
  spawnTracked,
  startOtlpReceiver,
  stopProcess,
  waitFor,
} from '@media-cluster/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type Role = 'api' | 'worker' | 'redis-server' | 'postgres';

/** Which of start.mjs' children a command line is. */
function roleOf(cmdline: string): Role | undefined {
  if (cmdline.includes('services/api/dist/index.js')) return 'api';
  if (cmdline.includes('services/worker/dist/index.js')) return 'worker';
  if (/(^|\/)redis-server /.test(cmdline)) return 'redis-server';
  if (/(^|\/)postgres -D /.test(cmdline)) return 'postgres';
  return undefined;
}

function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), state: state ?? '?' };
  } catch {
    return undefined;
  }
}

/** Live (not zombie) children of `parent`, by pid. */
export function childrenOf(parent: number): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat?.ppid !== parent || stat.state === 'Z') continue;
    try {
      found.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // gone while we looked
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

export interface NpmStart {
  proc: Spawned;
  apiUrl: string;
  workerUrl: string;
  redisPort: number;
  databaseUrl: string;
  otlp: OtlpReceiver;
  /** start.mjs' own lines (`[start] ...`). */
  startLines(): string[];
  /** The services' JSON log lines (stdout). */
  logs(): Record<string, unknown>[];
  /** Pid of the child in `role` running now. */
  pidOf(role: Role): number | undefined;
  /** Every pid seen as a child of start.mjs (or a postgres backend), dead or alive. */
  seenPids(): Set<number>;
  /** SIGINT to the whole process group, as a terminal's Ctrl-C. */
  interrupt(): void;
  /** Kills whatever is left (SIGKILL to the group and to every seen pid), removes the data dir. */
  cleanup(): Promise<void>;
}

export async function startNpmStart(env: Record<string, string>): Promise<NpmStart> {
  const dataDir = makeTempDir('npm-start');
  // Postgres runs as the postgres user when the tests run as root: it must reach its folder.
  chmodSync(dataDir, 0o755);
  const otlp = await startOtlpReceiver();
  const [port, metricsPort, workerPort, redisPort, postgresPort] = (await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  )) as [number, number, number, number, number];
  const inherited: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // The run's own servers and vitest's loader flags must not reach start.mjs.
    if (value === undefined || /^(OTEL_|REDIS_URL$|DATABASE_URL$|NODE_OPTIONS$|LOG_LEVEL$|HOST$)/.test(key))
      continue;
    inherited[key] = value;
  }
  const proc = spawnTracked(process.execPath, [join(ROOT, 'scripts/start.mjs')], {
    cwd: ROOT,
    detached: true,
    env: {
      ...inherited,
      ...otlp.exporterEnv(),
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      DATA_DIR: dataDir,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      WORKER_METRICS_PORT: String(workerPort),
      EMBEDDED_REDIS_PORT: String(redisPort),
      EMBEDDED_POSTGRES_PORT: String(postgresPort),
      DEMO: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  const lines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('[start]')) lines.push(line);
  });
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      try {
        logs.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });

  const startPid = proc.child.pid ?? -1;
  const seen = new Set<number>();
  const current = (): Partial<Record<Role, number>> => {
    const byRole: Partial<Record<Role, number>> = {};
    for (const { pid, cmdline } of childrenOf(startPid)) {
      const role = roleOf(cmdline);
      if (!role) continue;
      byRole[role] = pid;
      seen.add(pid);
      // Postgres backends are the postmaster's children: they must go too.
      if (role === 'postgres') for (const backend of childrenOf(pid)) seen.add(backend.pid);
    }
    return byRole;
  };
  const tracker = setInterval(current, 100);
  tracker.unref();

  const handle: NpmStart = {
    proc,
    apiUrl: `http://127.0.0.1:${port}`,
    workerUrl: `http://127.0.0.1:${workerPort}`,
    redisPort,
    databaseUrl: `postgres://postgres@127.0.0.1:${postgresPort}/postgres`,
    otlp,
    startLines: () => lines,
    logs: () => logs,
    pidOf: (role) => current()[role],
    seenPids: () => {
      current();
      return seen;
    },
    interrupt: () => process.kill(-startPid, 'SIGINT'),
    async cleanup() {
      clearInterval(tracker);
      try {
        process.kill(-startPid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      for (const pid of seen) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await stopProcess(proc, 'SIGKILL');
      await waitFor(() => [...seen].every((pid) => !isAlive(pid)), { what: 'every child to be gone' }).catch(
        () => {},
      );
      await otlp.stop();
      removeTempDir(dataDir);
    },
  };

  try {
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`start.mjs exited: ${proc.output()}`);
        return lines.some((l) => l.includes('[start] running:'));
      },
      { timeoutMs: 90_000, intervalMs: 100, what: 'npm start to have everything running' },
    );
  } catch (error) {
    await handle.cleanup();
    throw error;
  }
  return handle;
}

/**
 * Polls `url` every `intervalMs` until stopped; records every answer that was
 * not 200 (or no answer), so "it kept serving throughout" can be asserted.
 */
export function pollHealth(url: string, intervalMs = 50) {
  const failures: string[] = [];
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch((e: Error) => e);
      polls += 1;
      if (res instanceof Error) failures.push(`${new Date(started).toISOString()} ${res.message}`);
      else {
        await res.arrayBuffer().catch(() => {});
        if (res.status !== 200) failures.push(`${new Date(started).toISOString()} HTTP ${res.status}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    failures,
    polls: () => polls,
    async stop() {
      running = false;
      await loop;
    },
  };
}
