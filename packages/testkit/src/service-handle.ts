import { type Spawned, stopProcess } from './processes.js';

/** What every testkit-started server returns. */
export interface ServiceHandle {
  /** Connection URL, e.g. `redis://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Stops gracefully and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL: the data dir is kept so `restart()` can bring it back. */
  kill(): Promise<void>;
  /** Starts again on the same port and data dir (after `kill()` or while running). */
  restart(): Promise<void>;
  /** True when this handle owns the process (false for env-provided URLs). */
  readonly owned: boolean;
  /** Pid of the server process running now (undefined for env-provided URLs). */
  readonly pid: number | undefined;
  /**
   * Resolves when the server process running now exits, whoever stopped it
   * (after `restart()`, ask again for the new one). Never resolves for
   * env-provided URLs. A supervisor (`npm start`) uses it to restart a crash.
   */
  exited(): Promise<ServerExit>;
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A server process testkit started, as `ownedHandle` needs to see it. */
export interface OwnedServer {
  url(): string;
  port(): number;
  /** The process running now (replaced by every `launch`). */
  process(): Spawned | undefined;
  /** Starts the process (again) on the same port and data. */
  launch(): Promise<void>;
  /** The graceful stop: this signal, then SIGKILL after `graceMs`. */
  readonly stopSignal: NodeJS.Signals;
  readonly graceMs?: number;
  /** Replaces the plain SIGKILL of the running process (e.g. a whole process group). */
  kill?(): Promise<void>;
  /** After the last stop: remove what the server leaves behind. */
  cleanup(): void;
}

/** The handle of a server testkit started: stop (once), kill, restart, pid, exit. */
export function ownedHandle(server: OwnedServer): ServiceHandle {
  let stopped = false;
  const stopGracefully = async () => {
    const proc = server.process();
    if (proc) await stopProcess(proc, server.stopSignal, server.graceMs);
  };
  return {
    get url() {
      return server.url();
    },
    get port() {
      return server.port();
    },
    owned: true,
    get pid() {
      return server.process()?.child.pid;
    },
    exited() {
      return server.process()?.exited ?? new Promise<ServerExit>(() => {});
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopGracefully();
      server.cleanup();
    },
    async kill() {
      if (server.kill) return server.kill();
      const proc = server.process();
      if (proc) await stopProcess(proc, 'SIGKILL');
    },
    async restart() {
      await stopGracefully();
      await server.launch();
    },
  };
}

/** The handle of a server given by URL (e.g. `REDIS_URL`): nothing to stop, no faults to inject. */
export function externalHandle(what: string, url: string, defaultPort: number): ServiceHandle {
  const refuse = async () => {
    throw new Error(`Cannot kill/restart an external ${what} (${url}); start a private one for fault tests.`);
  };
  return {
    url,
    port: Number(new URL(url).port || defaultPort),
    owned: false,
    pid: undefined,
    exited: () => new Promise<ServerExit>(() => {}),
    stop: async () => {},
    kill: refuse,
    restart: refuse,
  };
}
