// What `npm start` supervises (scripts/start/supervisor.mjs): the api and the
// worker as node processes, and the embedded redis-server / PostgreSQL.
import { spawn } from 'node:child_process';

/** Past its own grace period (api 10 s, worker 25 s) a service gets SIGKILL: 30 s. */
const SERVICE_KILL_AFTER_MS = 30_000;

/** GET `url`; true on 200. */
export async function answers200(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  await res?.arrayBuffer().catch(() => {});
  return res?.status === 200;
}

/**
 * A built service run as compose runs it (`node --import <register> <entry>`),
 * in start.mjs' process group (a terminal's Ctrl-C reaches it), logging to
 * start.mjs' stdout/stderr.
 *
 * @param {{ name: string, entry: string, register: string, env: NodeJS.ProcessEnv, readyUrl: string }} options
 */
export function serviceUnit({ name, entry, register, env, readyUrl }) {
  return {
    name,
    layer: 1,
    async start() {
      const child = spawn(process.execPath, ['--import', register, entry], {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: -1, signal: null }));
      });
      return { pid: child.pid, exited, child };
    },
    async stop(running) {
      const { child, exited } = running;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), SERVICE_KILL_AFTER_MS);
        await exited;
        clearTimeout(timer);
      }
    },
    ready: () => answers200(readyUrl),
  };
}

/**
 * An embedded server from testkit (startRedis / startPostgres): the first
 * start creates it (data kept in its own folder), later starts bring it back
 * on the same port and data, and stop() stops it for good.
 *
 * @param {{ name: string, create: () => Promise<import('../../packages/testkit/dist/index.js').ServiceHandle>,
 *           onCreated?: (handle: import('../../packages/testkit/dist/index.js').ServiceHandle) => void }} options
 */
export function embeddedServerUnit({ name, create, onCreated }) {
  let handle;
  return {
    name,
    layer: 0,
    async start() {
      if (handle) await handle.restart();
      else {
        handle = await create();
        onCreated?.(handle);
      }
      return { pid: handle.pid, exited: handle.exited() };
    },
    stop: () => handle?.stop(),
  };
}
