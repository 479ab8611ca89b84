/**
 * Every place where this package depends on private internals of upstream
 * code lives in this folder, and nowhere else. Each patch checks at start-up
 * that the upstream shape it needs is there; when it is not, it is skipped
 * with one warning and the stock upstream behaviour runs (see the package
 * README, "Upstream patches"). Each has a test that fails when upstream
 * changes shape (test/upstream-patches.test.ts).
 */
import type { PgInstrumentationConfig } from '@opentelemetry/instrumentation-pg';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { checkPgShape, LeanPgInstrumentation } from './pg-pool-gauges.js';
import { warnPatchSkipped } from './shape.js';

export { checkPgShape, LeanPgInstrumentation } from './pg-pool-gauges.js';
export type { ShapeCheck } from './shape.js';

/** The pg instrumentation: pool gauges observed at collection time, or upstream's when its shape changed. */
export function createPgInstrumentation(config: PgInstrumentationConfig): PgInstrumentation {
  const check = checkPgShape();
  if (check.ok) return new LeanPgInstrumentation(config);
  warnPatchSkipped('pg-pool-gauges', check);
  return new PgInstrumentation(config);
}
