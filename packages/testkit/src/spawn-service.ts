import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Spawned, spawnTracked, stopProcess } from './processes.js';
import { waitFor } from './wait-for.js';

export interface ServiceProcess extends Spawned {
  /** Every stdout line so far that parsed as JSON (pino logs). */
  logs(): Record<string, unknown>[];
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): ReturnType<typeof stopProcess>;
}

export interface SpawnServiceOptions {
  /** Built entry file, e.g. services/api/dist/index.js. */
  entry: string;
  /** Resolve `@media-cluster/telemetry/register` from this package dir (the service's). */
  packageDir: string;
  env: Record<string, string | undefined>;
  /** Polled until it answers 200. */
  readyUrl: string;
  readyTimeoutMs?: number;
}

/**
 * The built register hook: the test process resolves with the `source`
 * condition (TypeScript), which a plain `node` child cannot load.
 */
function builtRegister(packageDir: string): string {
  const dir = join(packageDir, 'node_modules', '@media-cluster', 'telemetry');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string }>;
  };
  return join(dir, pkg.exports['./register']!.default);
}

/**
 * Runs a built service the way `npm start` and compose do
 * (`node --import @media-cluster/telemetry/register <entry>`) and waits for
 * its readiness URL. Its pino JSON lines are kept for assertions.
 */
export async function spawnService(options: SpawnServiceOptions): Promise<ServiceProcess> {
  if (!existsSync(options.entry)) {
    throw new Error(`${options.entry} is missing: build first (npm test does; or pnpm build)`);
  }
  const register = builtRegister(options.packageDir);
  const spawned = spawnTracked(process.execPath, ['--import', register, options.entry], {
    env: { ...process.env, ...options.env },
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  spawned.child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const service: ServiceProcess = {
    ...spawned,
    logs: () => lines,
    stop: (signal = 'SIGTERM', graceMs = 15_000) => stopProcess(spawned, signal, graceMs),
  };
  try {
    await waitFor(
      async () => {
        if (spawned.child.exitCode !== null) throw new Error(`exited early: ${spawned.output()}`);
        return (await fetch(options.readyUrl).catch(() => undefined))?.status === 200;
      },
      { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100, what: `${options.entry} to be ready` },
    );
  } catch (error) {
    await service.stop('SIGKILL');
    throw error;
  }
  return service;
}
