import { execFile } from 'node:child_process';
import { stackBinaryPath } from './stack/go-programs.js';

export interface PromtoolOptions {
  cwd?: string;
  /** Kill promtool after this long. @defaultValue 60_000 ms */
  timeoutMs?: number;
}

export interface PromtoolResult {
  /** promtool's exit code: 0 = success, 1 = failed checks/tests, other = usage errors. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `promtool <args>` (e.g. `['test', 'rules', 'alerts.test.yml']`). A failed
 * check is a result, not a rejection, so tests can show its output; it
 * rejects only when promtool cannot run or times out.
 */
export function promtool(args: readonly string[], options: PromtoolOptions = {}): Promise<PromtoolResult> {
  const binary = stackBinaryPath('promtool');
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`promtool ${args.join(' ')} did not run: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
