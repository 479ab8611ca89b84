import { type Context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * The context key `@opentelemetry/core`'s `suppressTracing()` sets. API context
 * keys are `Symbol.for(description)`, so this is the same key without a
 * dependency on core (the queue depends on the API only). Instrumentations
 * (ioredis) honour it, so the queue's own XREADGROUP/XACK/EVALSHA traffic does
 * not produce a CLIENT span per command: the PRODUCER/CONSUMER spans already
 * describe it, and per-command spans would cost more than the queue itself.
 */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true);
}

/** Root context with tracing suppressed: the consumer's loops run in it, so no job's context leaks into another. */
export const QUEUE_INTERNAL_CONTEXT: Context = suppressTracing(ROOT_CONTEXT);
