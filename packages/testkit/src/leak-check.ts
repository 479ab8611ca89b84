import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { RUN_ID_ENV, TEMP_PREFIX } from './processes.js';

export interface Leaks {
  processes: { pid: number; cmdline: string }[];
  dirs: string[];
}

/**
 * Finds processes (by the run id in their environment) and temp dirs that a
 * test run left behind. Works across vitest workers, which the in-memory
 * registry cannot see.
 */
export function findLeaks(id: string, ignorePids: readonly number[] = [process.pid]): Leaks {
  const marker = `${RUN_ID_ENV}=${id}`;
  const processes: Leaks['processes'] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || ignorePids.includes(pid)) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(marker)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      // vitest's own pool workers carry the id too; they end with the run.
      if (/vitest|tinypool/.test(cmdline)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // zombie: already dead, waiting to be reaped
      processes.push({ pid, cmdline });
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  const dirs = readdirSync(tmpdir())
    .filter((d) => d.startsWith(`${TEMP_PREFIX}${id}-`))
    .map((d) => `${tmpdir()}/${d}`);
  return { processes, dirs };
}
