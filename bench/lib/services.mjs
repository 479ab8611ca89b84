// The api and worker as real processes for the benchmarks: built dist/ started with
// `node --import @media-cluster/telemetry/register` (as `npm start` and compose run them), plus
// the OTLP receiver in a process of its own and per-process CPU time read from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchDir, repoRoot } from './stats.mjs';

/** Builds api, worker and every package they and the benchmarks use (turbo caches). */
export function buildServices() {
  const build = spawnSync(
    'pnpm',
    [
      'turbo',
      'run',
      'build',
      '--filter=@media-cluster/api...',
      '--filter=@media-cluster/worker...',
      '--filter=@media-cluster/bench^...',
      '--output-logs=errors-only',
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  if (build.status !== 0) throw new Error(`build failed (exit ${build.status})`);
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

/** User + system CPU time of a live process, ms (10 ms resolution); NaN when it is gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time of a live process by kind of thread, ms: Node names its threads (`MainThread`, `WorkerThread`
 * for each worker_threads thread incl. the loader-hook thread, `V8Worker` for V8's GC and compiler
 * helpers, `libuv-worker` for the libuv pool that runs file system work and native addons such as
 * sharp's decoding, `DelayedTaskSche`, ...). Threads that ended are not counted (their time stays in
 * the process total).
 */
export function threadCpuMs(pid) {
  const byKind = {};
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byKind;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ms = processCpuMs(`${pid}/task/${tid}`);
      if (Number.isFinite(ms)) byKind[comm] = (byKind[comm] ?? 0) + ms;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byKind;
}

function registerPath(serviceDir) {
  const dir = join(serviceDir, 'node_modules', '@media-cluster', 'telemetry');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return join(dir, pkg.exports['./register'].default);
}

function pinned(cpus, command, args) {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

async function untilReady(url, child, tail, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ready:\n${tail()}`);
    const ok = await fetch(url)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${url}\n${tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts services/<name>/dist/index.js. stdout (pino, one line per request) goes to /dev/null
 * so the benchmark process does not pay for reading it, unless `onLogLine` wants its lines
 * (each parsed pino line); stderr is kept for error messages.
 *
 * @param {{ name: 'api' | 'worker', env: Record<string, string>, readyUrl: string,
 *           nodeArgs?: string[], cpus?: string, node?: string,
 *           onLogLine?: (line: Record<string, unknown>) => void }} options cpus: a taskset CPU list;
 *   node: the Node binary to run it with (default: the one running the benchmark)
 */
export async function startService({
  name,
  env,
  readyUrl,
  nodeArgs = [],
  cpus,
  node = process.execPath,
  onLogLine,
}) {
  const serviceDir = join(repoRoot, 'services', name);
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (!nodeVersion) throw new Error(`${name}: cannot run ${node}`);
  const [command, args] = pinned(cpus, node, [
    ...nodeArgs,
    '--import',
    registerPath(serviceDir),
    join(serviceDir, 'dist', 'index.js'),
  ]);
  const child = spawn(command, args, {
    cwd: serviceDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', onLogLine ? 'pipe' : 'ignore', 'pipe'],
  });
  if (onLogLine) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        onLogLine(JSON.parse(line));
      } catch {
        // not a log line
      }
    });
  }
  const errors = [];
  child.stderr.on('data', (chunk) => {
    errors.push(chunk.toString());
    if (errors.length > 20) errors.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const tail = () => errors.join('').slice(-4000);
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  try {
    await untilReady(readyUrl, child, tail);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${name}: ${error.message}`);
  }
  // With taskset the child is taskset exec'ing node: same pid.
  return {
    name,
    pid: child.pid,
    nodeVersion,
    cpuMs: () => processCpuMs(child.pid),
    threadCpuMs: () => threadCpuMs(child.pid),
    stderr: tail,
    stop,
    exited,
  };
}

/**
 * testkit's OTLP receiver in its own process (bench/lib/otlp-sink.mjs).
 * `stats()` resolves with what arrived since the previous call and the receiver's CPU time.
 */
export async function startOtlpSink({ cpus } = {}) {
  const [command, args] = pinned(cpus, process.execPath, [join(benchDir, 'lib', 'otlp-sink.mjs')]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let ready;
  const readyPromise = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`OTLP sink exited with ${code} before ready`)));
  });
  lines.on('line', (line) => {
    if (line.startsWith('READY ')) ready(JSON.parse(line.slice(6)));
    else if (line.startsWith('STATS ')) waiting.shift()?.(JSON.parse(line.slice(6)));
  });
  const endpoints = await readyPromise;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: child.pid,
    grpcEndpoint: endpoints.grpc,
    /** Env pointing a service's SDK at this receiver (OTLP/gRPC, as in production). */
    exporterEnv: () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoints.grpc }),
    stats: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write('stats\n');
      }),
    async stop() {
      if (child.exitCode === null) child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `KEY=VALUE,KEY=VALUE` (a bench option) as an env object. */
export const parseEnv = (text) =>
  Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
