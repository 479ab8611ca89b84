// Registers a tracer provider with a BatchSpanProcessor (SDK defaults), exporting over
// OTLP/gRPC to BENCH_OTLP_URL, or to an exporter that drops batches (BENCH_EXPORTER=noop).
// Counts the spans that ended and the spans handed to the exporter, so a run proves
// real spans were made (and shows any the batch processor dropped).
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, RandomIdGenerator, TracerProvider } from '@opentelemetry/sdk-trace';

export async function startTracing(serviceName) {
  let exporter;
  if (process.env.BENCH_EXPORTER === 'otlp') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    exporter = new OTLPTraceExporter({ url: process.env.BENCH_OTLP_URL });
  } else {
    exporter = {
      export: (_spans, done) => done({ code: 0 }),
      shutdown: async () => {},
      forceFlush: async () => {},
    };
  }
  const counts = { ended: 0, exported: 0 };
  const counting = {
    export(spans, done) {
      counts.exported += spans.length;
      exporter.export(spans, done);
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.(),
  };
  const countEnded = {
    onStart() {},
    onEnd() {
      counts.ended++;
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [countEnded, new BatchSpanProcessor({ exporter: counting })],
  });
  trace.setGlobalTracerProvider(provider);
  if (process.env.BENCH_CTX !== 'none') {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  const { propagation } = await import('@opentelemetry/api');
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const ids = new RandomIdGenerator();
  return {
    /**
     * A context of its own per job, as each api request has (its server span): a sampled parent
     * from "upstream" that this process does not record, so the spans counted are the queue's.
     */
    jobContext() {
      return trace.setSpanContext(ROOT_CONTEXT, {
        traceId: ids.generateTraceId(),
        spanId: ids.generateSpanId(),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
    },
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      return counts;
    },
  };
}
