import { execFile } from 'node:child_process';
import { type StackProgram, stackBinaryPath } from './go-programs.js';

export interface RunProgramOptions {
  cwd?: string;
  /** Kill the program after this long. @defaultValue 60_000 ms */
  timeoutMs?: number;
}

export interface RunProgramResult {
  /** The program's exit code: 0 = success. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the built Go programs to completion. A non-zero exit is a result,
 * not a rejection, so tests can show its output; it rejects only when the
 * program cannot run or times out.
 */
export function runProgram(
  name: StackProgram,
  args: readonly string[],
  options: RunProgramOptions = {},
): Promise<RunProgramResult> {
  const binary = stackBinaryPath(name);
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${name} ${args.join(' ')} did not run: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
