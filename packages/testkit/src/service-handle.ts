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
}
