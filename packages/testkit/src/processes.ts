import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every child and temp dir testkit made, so teardown can prove none is left. */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();

export const TEMP_PREFIX = 'media-cluster-testkit-';

/** Set by the global setup and inherited by every child, so teardown finds strays. */
export const RUN_ID_ENV = 'TESTKIT_RUN_ID';

export function runId(): string {
  return process.env[RUN_ID_ENV] ?? 'adhoc';
}

export function makeTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${runId()}-${label}-`));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves with the exit code/signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last output lines, for error messages. */
  output(): string;
}

export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(chunk.toString());
    if (lines.length > 50) lines.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      live.delete(child);
      lines.push(String(error));
      resolve({ code: -1, signal: null });
    });
  });
  return { child, exited, output: () => lines.join('').slice(-4000) };
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(spawned: Spawned, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000) {
  const { child } = spawned;
  if (child.exitCode !== null || child.signalCode !== null) return spawned.exited;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await spawned.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Pids and dirs still alive: teardown asserts both are empty. */
export function leftovers(): { pids: number[]; dirs: string[] } {
  return { pids: [...live].map((c) => c.pid ?? -1), dirs: [...dirs] };
}
