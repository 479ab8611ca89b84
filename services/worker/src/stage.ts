import type { StageSpanName } from '@media-cluster/semconv';
import { type Attributes, type Histogram, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@media-cluster/worker');

/** `embed_ms`, `cluster_ms`, `select_heroes_ms`, `postgres_write_ms`: the job_completed/job_failed fields. */
export type StageTimings = Partial<Record<`${string}_ms`, number>>;

export interface StageOptions {
  /** Span attributes at the start (the job's base attributes plus the stage's own). */
  attributes: Attributes;
  /** Seconds of a stage that succeeded are recorded here. */
  histogram?: Histogram;
  /** Labels of that record (one object per worker, not per job: the SDK hashes it on every record). */
  labels?: Attributes;
}

/**
 * One pipeline stage of a job: an active INTERNAL span named `name` (errors
 * recorded on it and rethrown), its wall time in whole ms written to
 * `timings` as `<name>_ms` (dots become underscores) whether it succeeded or
 * not, and on success its seconds recorded on `histogram`.
 */
export async function stage<T>(
  name: StageSpanName,
  timings: StageTimings,
  options: StageOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const started = performance.now();
  const key = `${name.replace('.', '_')}_ms` as const;
  return tracer.startActiveSpan(name, { attributes: options.attributes }, async (span) => {
    try {
      const result = await fn(span);
      const ms = performance.now() - started;
      timings[key] = Math.round(ms);
      options.histogram?.record(ms / 1000, options.labels);
      return result;
    } catch (error) {
      timings[key] = Math.round(performance.now() - started);
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
