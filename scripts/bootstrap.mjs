#!/usr/bin/env node
// Set-up shared by `npm start`, `npm test` and `pnpm stack`: installs what is
// missing (pnpm, redis-server, postgresql, docker-compose), installs deps, builds,
// builds the observability programs from their Go modules (test, stack), then
// runs the services, the tests or the stack. Quiet when everything is already there.
// Plain Node, no dependencies: it runs before `pnpm install`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePinnedNode } from './setup/node-runtime.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PNPM_VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const [mode = 'test', ...passThrough] = process.argv.slice(2);
const isRoot = process.getuid?.() === 0;

const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`\n[setup] ${msg}\n`);
  process.exit(1);
};

function onPath(name) {
  const dirs = (process.env.PATH ?? '').split(delimiter);
  if (name === 'initdb' && existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql')) dirs.push(join('/usr/lib/postgresql', v, 'bin'));
  }
  return dirs.some((d) => d && existsSync(join(d, name)));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.status !== 0) fail(`"${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).`);
}

// 1. Node: the pinned release (.node-version); an older one installs it into .tools/ and re-runs with it.
await ensurePinnedNode({ root: ROOT, say, fail });

// 2. System binaries the services and tests run for real.
const NEEDED =
  mode === 'lint'
    ? []
    : [
        { bin: 'redis-server', apt: 'redis-server', why: 'Redis for the queue' },
        { bin: 'initdb', apt: 'postgresql', why: 'PostgreSQL for job results' },
        ...(mode === 'test'
          ? [{ bin: 'docker-compose', apt: 'docker-compose', why: 'docker-compose config validation' }]
          : []),
      ];
const missing = NEEDED.filter((n) => !onPath(n.bin));
if (missing.length > 0) {
  const packages = [...new Set(missing.map((m) => m.apt))];
  if (isRoot && onPath('apt-get')) {
    say(`installing ${packages.join(', ')} with apt-get (${missing.map((m) => m.why).join('; ')})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  } else {
    fail(
      `Missing: ${missing.map((m) => `${m.bin} (${m.why})`).join(', ')}.\n` +
        `Install them, e.g.: sudo apt-get install ${packages.join(' ')}\n` +
        `(or set REDIS_URL / DATABASE_URL to servers you already run).`,
    );
  }
}

// Go builds the real OpenTelemetry Collector, Jaeger and Prometheus (tests, pnpm stack).
const needsGo = mode === 'test' || mode === 'stack';
if (needsGo) {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  const m = /go(\d+)\.(\d+)/.exec(go.stdout ?? '');
  if (go.status !== 0 || !m || Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 26)) {
    fail(
      `${go.status === 0 ? `${go.stdout.trim()} is too old` : 'Go is not installed (or not on PATH)'}: ` +
        'the tests and `pnpm stack` build the real OpenTelemetry Collector, Jaeger and Prometheus ' +
        'from their Go modules (observability/stack/). Install Go 1.26 or newer from https://go.dev/doc/install ' +
        "(Debian 12's golang package is too old) and make sure the Go module proxy is reachable.",
    );
  }
}

// 3. pnpm, pinned.
function pnpmVersion() {
  try {
    return execFileSync('pnpm', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
let pnpm = ['pnpm'];
if (pnpmVersion() !== PNPM_VERSION) {
  say(`installing pnpm@${PNPM_VERSION}`);
  const r = spawnSync('npm', ['install', '-g', `pnpm@${PNPM_VERSION}`], { stdio: 'inherit' });
  if (r.status !== 0 || pnpmVersion() !== PNPM_VERSION) {
    say(`global install not possible here; using npx pnpm@${PNPM_VERSION}`);
    pnpm = ['npx', '--yes', `pnpm@${PNPM_VERSION}`];
  }
}
const pn = (args, opts) => run(pnpm[0], [...pnpm.slice(1), ...args], opts);

// 4. Dependencies, when the lockfile changed since the last install.
const stamp = join(ROOT, 'node_modules', '.bootstrap-lock-hash');
const lockHash = createHash('sha256')
  .update(readFileSync(join(ROOT, 'pnpm-lock.yaml')))
  .digest('hex');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  say('installing dependencies (pnpm install --frozen-lockfile)');
  pn(['install', '--frozen-lockfile', '--reporter=append-only']);
  writeFileSync(stamp, lockHash);
}

// 5. Build (turbo caches: a no-op when nothing changed).
pn(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', '--log-prefix=none'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});

// 5b. The observability programs (cached in .cache/stack, rebuilt when a go.mod/go.sum changes).
if (needsGo) run(process.execPath, [join(ROOT, 'packages', 'testkit', 'dist', 'stack', 'build-cli.js')]);

// Lint also type-checks every package, tests included.
if (mode === 'lint') {
  pn(['exec', 'turbo', 'run', 'typecheck', '--output-logs=errors-only', '--log-prefix=none']);
}

// 6. Run.
const TARGETS = {
  start: [process.execPath, [join(ROOT, 'scripts', 'start.mjs'), ...passThrough]],
  test: [pnpm[0], [...pnpm.slice(1), 'exec', 'vitest', 'run', ...passThrough]],
  lint: [pnpm[0], [...pnpm.slice(1), 'exec', 'biome', 'ci', '.', ...passThrough]],
  stack: [process.execPath, [join(ROOT, 'scripts', 'stack.mjs'), ...passThrough]],
};
const target = TARGETS[mode] ?? fail(`unknown mode "${mode}": use start, test, stack or lint`);
const child = spawn(target[0], target[1], { stdio: 'inherit', cwd: ROOT });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
