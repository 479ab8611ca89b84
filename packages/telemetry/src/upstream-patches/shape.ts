import { createSelfLog, type SelfLog } from '../self-log.js';

/** Whether upstream code still has the private shape a patch relies on. */
export type ShapeCheck = { ok: true } | { ok: false; problems: string[] };

const warned = new Set<string>();

/**
 * Logs once per process that `patch` is not applied (upstream changed) and
 * that the stock behaviour runs instead; a later call for the same patch is silent.
 */
export function warnPatchSkipped(patch: string, check: ShapeCheck, log: SelfLog = createSelfLog()): void {
  if (check.ok || warned.has(patch)) return;
  warned.add(patch);
  log(
    'warn',
    `telemetry: upstream patch ${patch} not applied, the upstream code changed shape; stock behaviour instead`,
    {
      patch,
      problems: check.problems,
    },
  );
}
