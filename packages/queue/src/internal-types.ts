import type { Span } from '@opentelemetry/api';

/** Lifecycle of a consumer; background loops read it before rescheduling. */
export type ConsumerState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** `[id, fields]` as XREADGROUP/XAUTOCLAIM return it (fields null when the entry was deleted). */
export type StreamEntry = [id: string, fields: string[] | null];

/** One delivered entry while this consumer works on it. */
export interface InFlight {
  readonly id: string;
  /** Only with `abortOnTakeover` (an AbortController costs ~2.6 µs on Node 20, more than the rest of a job's path). */
  readonly controller: AbortController | undefined;
  /** Set while the handler runs (the heartbeat protects only those). */
  span: Span | undefined;
  lost: boolean;
}
