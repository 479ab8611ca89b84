import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../repo-root.js';

/**
 * The real observability programs, built from their Go modules in
 * observability/stack/<module>/ (go.mod/go.sum pinned there), and kustomize for the
 * Kubernetes manifests (deploy/k8s/kustomize). Binaries go to a
 * git-ignored cache keyed by a hash of the module files, so they are rebuilt
 * only when a go.mod, go.sum or main package changes.
 */
export interface GoProgram {
  /** Binary name, also how tests ask for it. */
  name: StackProgram;
  /** The Go module's folder, relative to the repo root. */
  module: string;
  /** The package to build, as `go build` takes it. */
  pkg: string;
  /** -ldflags: version stamps, so `--version` says what was built. */
  ldflags: string;
}

export type StackProgram = 'otelcol-media-cluster' | 'jaeger' | 'prometheus' | 'promtool' | 'kustomize';

const PROM_VERSION = (v: string) =>
  [
    `-X github.com/prometheus/common/version.Version=${v}`,
    '-X github.com/prometheus/common/version.Branch=module',
    `-X github.com/prometheus/common/version.Revision=v0.${v.replace(/^3\.(\d+)\.(\d+)$/, '3$1.$2')}`,
  ].join(' ');

/** What each program is built from; the versions match the image pins in .env. */
export const GO_PROGRAMS: readonly GoProgram[] = [
  {
    name: 'otelcol-media-cluster',
    module: 'observability/stack/collector',
    pkg: '.',
    ldflags: '',
  },
  {
    name: 'jaeger',
    module: 'observability/stack/jaeger',
    pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger',
    ldflags: '-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v2.12.0',
  },
  {
    name: 'prometheus',
    module: 'observability/stack/prometheus',
    pkg: 'github.com/prometheus/prometheus/cmd/prometheus',
    ldflags: PROM_VERSION('3.16.0'),
  },
  {
    name: 'promtool',
    module: 'observability/stack/prometheus',
    pkg: 'github.com/prometheus/prometheus/cmd/promtool',
    ldflags: PROM_VERSION('3.16.0'),
  },
  {
    // kustomize/v5 v5.8.2 (kustomize/api v0.21.2): `kustomize build` of deploy/k8s in
    // the k8s test. Its version comes from the module's build info.
    name: 'kustomize',
    module: 'deploy/k8s/kustomize',
    pkg: 'sigs.k8s.io/kustomize/kustomize/v5',
    ldflags: '',
  },
];

/** Where built binaries live (git-ignored); `STACK_CACHE_DIR` moves it. */
export const stackCacheDir = () => process.env.STACK_CACHE_DIR ?? join(REPO_ROOT, '.cache', 'stack');

const MIN_GO = [1, 26];

/** The Go toolchain, or an error that says what to install. */
export function goVersion(): string {
  let out: string;
  try {
    out = execFileSync('go', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new Error(
      'Go is not installed (or not on PATH). The tests and `pnpm stack` build the real OpenTelemetry ' +
        `Collector, Jaeger and Prometheus from their Go modules: install Go ${MIN_GO.join('.')} or newer ` +
        '(https://go.dev/doc/install; Debian 12 ships an older one, so take the go.dev tarball) and make sure ' +
        'the Go module proxy (proxy.golang.org) is reachable.',
    );
  }
  const m = /go(\d+)\.(\d+)/.exec(out);
  const [major, minor] = [Number(m?.[1]), Number(m?.[2])];
  if (!m || major < MIN_GO[0]! || (major === MIN_GO[0] && minor < MIN_GO[1]!)) {
    throw new Error(
      `${out.trim()} is too old: the stack's Go modules need Go ${MIN_GO.join('.')} or newer (https://go.dev/doc/install).`,
    );
  }
  return out.trim();
}

/** Hash of everything that decides the binary: module files, main package, flags, Go version. */
function buildKey(program: GoProgram, go: string): string {
  const dir = join(REPO_ROOT, program.module);
  const hash = createHash('sha256').update(`${go}\n${program.pkg}\n${program.ldflags}\n`);
  for (const file of readdirSync(dir).sort()) {
    if (file === 'go.mod' || file === 'go.sum' || file.endsWith('.go')) {
      hash.update(`${file}\n`).update(readFileSync(join(dir, file)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Path the program's binary has (or will have) for the current module files. */
export function stackBinaryPath(name: StackProgram, go = goVersion()): string {
  const program = GO_PROGRAMS.find((p) => p.name === name);
  if (!program) throw new Error(`unknown stack program ${name}`);
  return join(stackCacheDir(), `${name}-${buildKey(program, go)}`, name);
}

export interface BuildOptions {
  /** Progress lines ("building jaeger…", "still building…", "built in 94 s"). @defaultValue stderr */
  log?: (line: string) => void;
  /** Only these. @defaultValue all */
  only?: readonly StackProgram[];
}

const defaultLog = (line: string) => process.stderr.write(`[stack] ${line}\n`);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A lock per binary (a directory holding the builder's pid), so parallel test
 * files or a test run next to `pnpm stack` build once and the others wait.
 */
async function withLock<T>(lockDir: string, log: (l: string) => void, what: string, fn: () => Promise<T>) {
  const deadline = Date.now() + 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(existsSync(join(lockDir, 'pid')) ? readFileSync(join(lockDir, 'pid'), 'utf8') : NaN);
      const stale =
        (Number.isInteger(pid) && !isAlive(pid)) ||
        (!Number.isInteger(pid) && Date.now() - statSync(lockDir).mtimeMs > 10_000);
      if (stale) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for another build of ${what} (${lockDir})`);
      if (!told) log(`waiting for another process building ${what}`);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function goBuild(program: GoProgram, output: string, log: (l: string) => void): Promise<void> {
  const args = ['build', '-trimpath', '-buildvcs=false', '-o', output];
  if (program.ldflags) args.push(`-ldflags=-s -w ${program.ldflags}`);
  else args.push('-ldflags=-s -w');
  args.push(program.pkg);
  const started = Date.now();
  const child = spawn('go', args, {
    cwd: join(REPO_ROOT, program.module),
    stdio: ['ignore', 'pipe', 'pipe'],
    // The pinned go.sum is the truth: never rewrite it while building.
    env: { ...process.env, GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
  });
  let output_ = '';
  child.stdout.on('data', (c: Buffer) => (output_ += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output_ += c.toString()));
  const tick = setInterval(
    () => log(`still building ${program.name} (${Math.round((Date.now() - started) / 1000)} s)`),
    30_000,
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(tick);
      if (code === 0) resolve();
      else reject(new Error(`go build of ${program.name} failed (exit ${code}):\n${output_.slice(-4000)}`));
    });
  });
}

/**
 * Builds whatever is missing from the cache (in series: the machine may have
 * only two cores) and returns every binary's path. A no-op when all are there.
 */
export async function ensureStackBinaries(options: BuildOptions = {}): Promise<Record<StackProgram, string>> {
  const log = options.log ?? defaultLog;
  const go = goVersion();
  const paths = {} as Record<StackProgram, string>;
  mkdirSync(stackCacheDir(), { recursive: true });
  for (const program of GO_PROGRAMS) {
    const path = stackBinaryPath(program.name, go);
    paths[program.name] = path;
    if ((options.only && !options.only.includes(program.name)) || existsSync(path)) continue;
    mkdirSync(join(path, '..'), { recursive: true });
    await withLock(`${path}.lock`, log, program.name, async () => {
      if (existsSync(path)) return; // built by whoever held the lock
      const started = Date.now();
      log(
        `building ${program.name} from ${program.module} (${go}; the first build downloads modules and takes minutes)`,
      );
      const tmp = `${path}.tmp-${process.pid}`;
      try {
        await goBuild(program, tmp, log);
        chmodSync(tmp, 0o755);
        renameSync(tmp, path);
      } finally {
        rmSync(tmp, { force: true });
      }
      log(`built ${program.name} in ${Math.round((Date.now() - started) / 1000)} s`);
    });
  }
  pruneOldBuilds(paths);
  return paths;
}

/** Old builds of a program (previous go.sum) are removed, so the cache does not grow. */
function pruneOldBuilds(current: Record<StackProgram, string>) {
  const keep = new Set(Object.values(current).map((p) => join(p, '..')));
  for (const entry of readdirSync(stackCacheDir())) {
    const dir = join(stackCacheDir(), entry);
    const program = GO_PROGRAMS.find((p) => entry.startsWith(`${p.name}-`) && !entry.endsWith('.lock'));
    if (program && !keep.has(dir) && /^[0-9a-f]{16}$/.test(entry.slice(program.name.length + 1))) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
