import { JOB_FIELDS, PROPAGATION_FIELDS } from './fields.js';

/** A validated stream entry. `carrier` holds every field, for `propagation.extract`. */
export interface JobEntry {
  readonly jobId: string;
  readonly petId: string;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly carrier: Readonly<Record<string, string>>;
}

export type ParsedEntry =
  | { readonly ok: true; readonly entry: JobEntry }
  | { readonly ok: false; readonly reason: string; readonly carrier: Readonly<Record<string, string>> };

/** Ids are opaque to the queue, but bounded so a bad producer cannot fill logs/DLQ. */
export const MAX_ID_LENGTH = 256;
const POSITIVE_INT = /^[1-9][0-9]{0,8}$/;
const EPOCH_MS = /^[0-9]{1,15}$/;

function checkId(name: string, value: string | undefined, problems: string[]): void {
  if (value === undefined) problems.push(`missing field ${name}`);
  else if (value.length === 0 || value.length > MAX_ID_LENGTH || value.trim() !== value) {
    problems.push(`invalid ${name} (expected 1..${MAX_ID_LENGTH} characters without surrounding spaces)`);
  }
}

/**
 * Validates the flat `[field, value, ...]` array XREADGROUP/XAUTOCLAIM return.
 * Runs once per message on the hot path: a plain loop, no schema library.
 */
export function parseEntry(fields: readonly string[] | null | undefined): ParsedEntry {
  const carrier: Record<string, string> = {};
  if (!Array.isArray(fields) || fields.length === 0 || fields.length % 2 !== 0) {
    return { ok: false, reason: 'entry has no field/value pairs', carrier };
  }
  for (let i = 0; i < fields.length; i += 2) carrier[fields[i] as string] = fields[i + 1] as string;

  const jobId = carrier[JOB_FIELDS.jobId];
  const petId = carrier[JOB_FIELDS.petId];
  const attempt = carrier[JOB_FIELDS.attempt];
  const enqueuedAt = carrier[JOB_FIELDS.enqueuedAt];
  const problems: string[] = [];
  checkId(JOB_FIELDS.jobId, jobId, problems);
  checkId(JOB_FIELDS.petId, petId, problems);
  if (attempt === undefined) problems.push(`missing field ${JOB_FIELDS.attempt}`);
  else if (!POSITIVE_INT.test(attempt))
    problems.push(`invalid ${JOB_FIELDS.attempt} (expected an integer >= 1)`);
  if (enqueuedAt === undefined) problems.push(`missing field ${JOB_FIELDS.enqueuedAt}`);
  else if (!EPOCH_MS.test(enqueuedAt))
    problems.push(`invalid ${JOB_FIELDS.enqueuedAt} (expected epoch milliseconds)`);
  if (problems.length > 0) return { ok: false, reason: problems.join('; '), carrier };

  return {
    ok: true,
    entry: {
      jobId: jobId as string,
      petId: petId as string,
      attempt: Number(attempt),
      enqueuedAt: Number(enqueuedAt),
      carrier,
    },
  };
}

/** The job fields of an entry in stream order, for re-adding (retry) or the DLQ. */
export function jobFields(entry: JobEntry, attempt: number, enqueuedAt: number): string[] {
  const out = [
    JOB_FIELDS.jobId,
    entry.jobId,
    JOB_FIELDS.petId,
    entry.petId,
    JOB_FIELDS.attempt,
    String(attempt),
    JOB_FIELDS.enqueuedAt,
    String(enqueuedAt),
  ];
  // The trace context travels on, so every attempt belongs to the producer's trace.
  for (const key of PROPAGATION_FIELDS) {
    const value = entry.carrier[key];
    if (value !== undefined) out.push(key, value);
  }
  return out;
}
