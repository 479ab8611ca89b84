import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * What the 2.x NodeTracerProvider's register() did, from the 3.x pieces: a
 * global tracer provider, AsyncLocalStorage context and the W3C propagator.
 */
export function registerTracing(spanProcessors: SpanProcessor[]): {
  provider: TracerProvider;
  shutdown(): Promise<void>;
} {
  const provider = new TracerProvider({ spanProcessors });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    provider,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
