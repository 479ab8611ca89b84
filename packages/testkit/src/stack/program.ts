import { type Spawned, spawnTracked, stopProcess } from '../processes.js';
import { waitFor } from '../wait-for.js';

export interface ProgramSpec {
  /** Shown in errors: "the collector". */
  what: string;
  binary: string;
  args: string[];
  env: Record<string, string>;
  /** Polled until true (bounded by readyTimeoutMs). */
  ready: () => Promise<boolean>;
  /** @defaultValue 30_000 ms */
  readyTimeoutMs?: number;
}

/** A long-running program a test may stop, kill, restart, pause and resume. */
export interface ProgramProcess {
  readonly pid: number | undefined;
  /** Last output lines, for error messages. */
  output(): string;
  /** SIGTERM (SIGKILL after the grace); resolves when it is gone. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again with the same arguments (same ports). */
  restart(): Promise<void>;
  /** SIGSTOP: the process holds its sockets but answers nothing (a hung program). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  readonly running: boolean;
}

async function readyOrThrow(spec: ProgramSpec, proc: Spawned) {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(
          `${spec.what} exited (${proc.child.exitCode ?? proc.child.signalCode}): ${proc.output()}`,
        );
      }
      return spec.ready().catch(() => false);
    },
    { timeoutMs: spec.readyTimeoutMs ?? 30_000, intervalMs: 100, what: `${spec.what} to be ready` },
  );
}

/** Starts `spec.binary` and waits until `spec.ready()` says so. */
export async function startProgram(spec: ProgramSpec): Promise<ProgramProcess> {
  let proc: Spawned | undefined;
  let paused = false;
  const alive = () => proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;

  const launch = async () => {
    proc = spawnTracked(spec.binary, spec.args, { env: { ...process.env, ...spec.env } });
    paused = false;
    try {
      await readyOrThrow(spec, proc);
    } catch (error) {
      await stopProcess(proc, 'SIGKILL');
      throw new Error(`${(error as Error).message}\n${proc.output()}`, { cause: error });
    }
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (!proc || !alive()) return;
    // A stopped process cannot act on SIGTERM until it is continued.
    if (paused) proc.child.kill('SIGCONT');
    paused = false;
    await stopProcess(proc, signal, 10_000);
  };

  await launch();
  return {
    get pid() {
      return proc?.child.pid;
    },
    get running() {
      return alive() && !paused;
    },
    output: () => proc?.output() ?? '',
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await launch();
    },
    pause() {
      if (alive()) proc?.child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (alive()) proc?.child.kill('SIGCONT');
      paused = false;
    },
  };
}

/** True when GET `url` answers 2xx within a second. */
export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
