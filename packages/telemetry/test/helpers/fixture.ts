import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Spawned, spawnTracked, stopProcess, waitFor } from '@media-cluster/testkit';

const here = dirname(fileURLToPath(import.meta.url));
export const packageDir = join(here, '..', '..');
const fixturePath = join(here, '..', 'fixtures', 'app.mjs');

/** Child processes run the built package: fail with a clear message when dist/ is older than src/. */
export function assertBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
  let built = 0;
  try {
    built = statSync(join(packageDir, 'dist', 'register.js')).mtimeMs;
  } catch {
    // not built at all
  }
  if (built < newest(join(packageDir, 'src'))) {
    throw new Error(
      'packages/telemetry/dist is missing or stale: run `pnpm turbo run build --filter=@media-cluster/telemetry`',
    );
  }
}

export interface FixtureLine {
  event?: string;
  level?: string;
  name?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface Fixture {
  readonly port: number;
  readonly metricsPort: number;
  readonly spawned: Spawned;
  /** Every JSON line the child printed, parsed, in order. */
  readonly lines: FixtureLine[];
  /** Lines that were not JSON (should stay empty: everything logs JSON). */
  readonly otherOutput: string[];
  url(path: string): string;
  metricsUrl(path: string): string;
  waitForLine(
    predicate: (line: FixtureLine) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<FixtureLine>;
  /** SIGTERM, then waits for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts test/fixtures/app.mjs with `node --import @media-cluster/telemetry/register`
 * and the given env (no OTEL_* or LOG_LEVEL leaks in from the test process).
 */
export async function startFixture(
  env: Record<string, string>,
  options: { register?: boolean } = {},
): Promise<Fixture> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('OTEL_') || key === 'LOG_LEVEL' || key === 'TRACE_SAMPLE_RATE')
      continue;
    // vitest's own loader flags must not reach the child.
    if (key === 'NODE_OPTIONS') continue;
    base[key] = value;
  }
  const args =
    options.register === false
      ? [fixturePath]
      : ['--import', '@media-cluster/telemetry/register', fixturePath];
  const spawned = spawnTracked(process.execPath, args, { cwd: packageDir, env: { ...base, ...env } });
  const lines: FixtureLine[] = [];
  const otherOutput: string[] = [];
  let pending = '';
  spawned.child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as FixtureLine);
      } catch {
        otherOutput.push(part);
      }
    }
  });
  spawned.child.stderr?.on('data', (chunk: Buffer) => otherOutput.push(chunk.toString()));
  // 'exit' can come before the last stdout chunk: stop() waits for both.
  const stdoutClosed = new Promise<void>((resolve) => {
    if (!spawned.child.stdout) resolve();
    spawned.child.stdout?.once('close', () => resolve());
  });

  const waitForLine = async (predicate: (line: FixtureLine) => boolean, what: string, timeoutMs = 15_000) => {
    const EXITED = Symbol('exited');
    let found: FixtureLine | typeof EXITED;
    try {
      found = await waitFor(
        () => lines.find(predicate) ?? (spawned.child.exitCode !== null ? EXITED : undefined),
        { timeoutMs, what },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nfixture output:\n${spawned.output()}`, { cause: error });
    }
    if (found === EXITED) {
      throw new Error(`fixture exited with ${spawned.child.exitCode} before ${what}:\n${spawned.output()}`);
    }
    return found;
  };

  let listening: FixtureLine;
  try {
    listening = await waitForLine((l) => l.event === 'listening', 'the fixture to listen');
  } catch (error) {
    await stopProcess(spawned, 'SIGKILL');
    throw error;
  }
  const port = Number(listening.port);
  const metricsPort = Number(listening.metricsPort);
  return {
    port,
    metricsPort,
    spawned,
    lines,
    otherOutput,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    metricsUrl: (path) => `http://127.0.0.1:${metricsPort}${path}`,
    waitForLine,
    async stop(graceMs = 10_000) {
      const exit = await stopProcess(spawned, 'SIGTERM', graceMs);
      await stdoutClosed;
      return exit;
    },
  };
}
