import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  findLeaks,
  leftovers,
  makeTempDir,
  removeTempDir,
  runId,
  spawnTracked,
  stopProcess,
  waitFor,
} from '../src/index.js';

describe('leak check', () => {
  it('sees a running child and a temp dir of this run, and stops seeing them once they are gone', async () => {
    const sleeper = spawnTracked('sleep', ['300']);
    const pid = sleeper.child.pid!;
    const dir = makeTempDir('leak-probe');
    try {
      // Other test files of this run may own processes too: look for ours only.
      const before = await waitFor(
        () => {
          const leaks = findLeaks(runId());
          return leaks.processes.some((p) => p.pid === pid) ? leaks : undefined;
        },
        { what: 'the sleeper to show up in findLeaks' },
      );
      expect(before.processes.find((p) => p.pid === pid)?.cmdline).toBe('sleep 300');
      expect(before.dirs).toContain(dir);
      expect(leftovers().pids).toContain(pid);
      expect(leftovers().dirs).toContain(dir);
    } finally {
      await stopProcess(sleeper, 'SIGTERM', 2_000);
      removeTempDir(dir);
    }
    const after = findLeaks(runId());
    expect(after.processes.map((p) => p.pid)).not.toContain(pid);
    expect(after.dirs).not.toContain(dir);
    expect(existsSync(dir)).toBe(false);
    expect(leftovers().pids).not.toContain(pid);
  });

  it('only reports processes that carry this run id', async () => {
    const stranger = spawnTracked('sleep', ['300'], {
      env: { ...process.env, TESTKIT_RUN_ID: 'another-run' },
    });
    const pid = stranger.child.pid!;
    try {
      await waitFor(() => findLeaks('another-run').processes.some((p) => p.pid === pid), {
        what: 'the stranger under its own run id',
      });
      expect(findLeaks(runId()).processes.map((p) => p.pid)).not.toContain(pid);
    } finally {
      await stopProcess(stranger, 'SIGTERM', 2_000);
    }
  });
});
