import { JOB_FIELDS, LEGACY_PARTITION_FIELD, PROPAGATION_FIELDS } from './fields.js';

/** A validated stream entry. `carrier` holds every field, for `propagation.extract`. */
export interface JobEntry {
  readonly jobId: string;
  readonly partitionKey: string | undefined;
  readonly payload: string | undefined;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly carrier: Readonly<Record<string, string>>;
}

export type ParsedEntry =
  | { readonly ok: true; readonly entry: JobEntry }
  | { readonly ok: false; readonly reason: string; readonly carrier: Readonly<Record<string, string>> };

/** Ids and keys are opaque to the queue, but bounded so a bad producer cannot fill logs/DLQ. */
export const MAX_ID_LENGTH = 256;
/** A payload is for references and small parameters, not for data: 64 KiB. */
export const MAX_PAYLOAD_BYTES = 65_536;
const POSITIVE_INT = /^[1-9][0-9]{0,8}$/;
const EPOCH_MS = /^[0-9]{1,15}$/;

/** What is wrong with an id or partition key, or undefined when it is fine. */
export function idProblem(value: unknown): string | undefined {
  if (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_ID_LENGTH &&
    value.trim() === value
  )
    return undefined;
  return `expected 1..${MAX_ID_LENGTH} characters without surrounding spaces`;
}

/** What is wrong with a payload, or undefined when it is fine. */
export function payloadProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'expected a string';
  // Cheap bound first: UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (value.length * 3 <= MAX_PAYLOAD_BYTES || Buffer.byteLength(value) <= MAX_PAYLOAD_BYTES)
    return undefined;
  return `expected at most ${MAX_PAYLOAD_BYTES} bytes`;
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
  const partitionKey = carrier[JOB_FIELDS.partitionKey] ?? carrier[LEGACY_PARTITION_FIELD];
  const payload = carrier[JOB_FIELDS.payload];
  const attempt = carrier[JOB_FIELDS.attempt];
  const enqueuedAt = carrier[JOB_FIELDS.enqueuedAt];
  const problems: string[] = [];
  if (jobId === undefined) problems.push(`missing field ${JOB_FIELDS.jobId}`);
  else if (idProblem(jobId)) problems.push(`invalid ${JOB_FIELDS.jobId} (${idProblem(jobId)})`);
  if (partitionKey !== undefined && idProblem(partitionKey))
    problems.push(`invalid ${JOB_FIELDS.partitionKey} (${idProblem(partitionKey)})`);
  if (payload !== undefined && payloadProblem(payload))
    problems.push(`invalid ${JOB_FIELDS.payload} (${payloadProblem(payload)})`);
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
      partitionKey,
      payload,
      attempt: Number(attempt),
      enqueuedAt: Number(enqueuedAt),
      carrier,
    },
  };
}

/** The fields of a new entry in stream order (trace context appended by the caller). */
export function newJobFields(
  jobId: string,
  partitionKey: string | undefined,
  payload: string | undefined,
  attempt: number,
  enqueuedAt: number,
): string[] {
  const out = [JOB_FIELDS.jobId, jobId];
  if (partitionKey !== undefined) out.push(JOB_FIELDS.partitionKey, partitionKey);
  if (payload !== undefined) out.push(JOB_FIELDS.payload, payload);
  out.push(JOB_FIELDS.attempt, String(attempt), JOB_FIELDS.enqueuedAt, String(enqueuedAt));
  return out;
}

/** The job fields of an entry in stream order, for re-adding (retry) or the DLQ. */
export function jobFields(entry: JobEntry, attempt: number, enqueuedAt: number): string[] {
  const out = newJobFields(entry.jobId, entry.partitionKey, entry.payload, attempt, enqueuedAt);
  // The trace context travels on, so every attempt belongs to the producer's trace.
  for (const key of PROPAGATION_FIELDS) {
    const value = entry.carrier[key];
    if (value !== undefined) out.push(key, value);
  }
  return out;
}
