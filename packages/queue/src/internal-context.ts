import { type Context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * Root context with tracing suppressed (`@opentelemetry/core`'s public
 * `suppressTracing()`): the consumer's loops run in it, so no job's context
 * leaks into another, and instrumentations (ioredis) that honour it record no
 * CLIENT span per XREADGROUP/XACK/EVALSHA of the queue's own traffic: the
 * PRODUCER/CONSUMER spans already describe it, and per-command spans would
 * cost more than the queue itself.
 */
export const QUEUE_INTERNAL_CONTEXT: Context = suppressTracing(ROOT_CONTEXT);
