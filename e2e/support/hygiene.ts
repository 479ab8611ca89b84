import { telemetryLeaks as findLeaks, type OtlpReceiver, type SpanFilter } from '@media-cluster/testkit';
import { KEY_A, KEY_B, type Stack } from './stack.js';

/**
 * Everything that left the stack's processes as telemetry (spans, metric
 * labels and log records received over OTLP, and every stdout log line) that
 * holds a raw pet id, an API key, one of `secrets` (e.g. a callback query
 * string), image bytes or a 4 KB+ attribute. Waits first until the api's (and,
 * when the stack started workers, the worker's) spans, metrics and logs, and
 * `spans`, have arrived, so an empty receiver fails instead of passing. Empty
 * when clean.
 */
export function telemetryLeaks(
  stack: Stack,
  {
    secrets = [],
    receiver = stack.otlp,
    spans = [],
  }: { secrets?: string[]; receiver?: OtlpReceiver; spans?: SpanFilter[] } = {},
): Promise<string[]> {
  if (!receiver)
    throw new Error('telemetryLeaks: this stack has no OTLP receiver; pass the one the test started');
  return findLeaks({
    receiver,
    forbidden: [...stack.petIds, KEY_A, KEY_B, ...secrets],
    // A worker's telemetry is awaited only when the stack started one.
    services: ['media-cluster-api', ...(stack.workers.length > 0 ? ['media-cluster-worker'] : [])],
    spans,
    stdout: stack.logs,
  });
}
