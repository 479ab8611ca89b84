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
