import { type RunProgramOptions, type RunProgramResult, runProgram } from './stack/run-program.js';

/**
 * Runs `kustomize <args>` (e.g. `['build', 'deploy/k8s/overlays/local']`), the CLI
 * built from deploy/k8s/kustomize/go.mod. A failed build is a result (exit code 1,
 * the reason on stderr), not a rejection.
 */
export function kustomize(
  args: readonly string[],
  options: RunProgramOptions = {},
): Promise<RunProgramResult> {
  return runProgram('kustomize', args, options);
}
