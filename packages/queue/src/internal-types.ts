import type { Span } from '@opentelemetry/api';

/** Lifecycle of a consumer; background loops read it before rescheduling. */
export type ConsumerState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** `[id, fields]` as XREADGROUP/XAUTOCLAIM return it (fields null when the entry was deleted). */
export type StreamEntry = [id: string, fields: string[] | null];

/** An entry delivered to this consumer, from shard `shard`. */
export interface Delivery {
  readonly shard: number;
  readonly id: string;
  readonly fields: string[] | null;
  readonly deliveryCount: number;
}

/** One delivered entry while this consumer works on it. */
export interface InFlight {
  /** `<shard>/<entry id>`: entry ids are unique only within a stream. */
  readonly key: string;
  readonly shard: number;
  readonly id: string;
  /** Set while the handler runs (the heartbeat protects only those). */
  span: Span | undefined;
  /** Another consumer took the entry over: this one's outcome is not acted upon. */
  lost: boolean;
}

export const inFlightKey = (shard: number, id: string) => `${shard}/${id}`;
