import { type RunProgramOptions, type RunProgramResult, runProgram } from './stack/run-program.js';

export type PromtoolOptions = RunProgramOptions;

/** promtool's exit code: 0 = success, 1 = failed checks/tests, other = usage errors. */
export type PromtoolResult = RunProgramResult;

/**
 * Runs `promtool <args>` (e.g. `['test', 'rules', 'alerts.test.yml']`). A failed
 * check is a result, not a rejection, so tests can show its output; it
 * rejects only when promtool cannot run or times out.
 */
export function promtool(args: readonly string[], options: PromtoolOptions = {}): Promise<PromtoolResult> {
  return runProgram('promtool', args, options);
}
