// Registers a tracer provider with a BatchSpanProcessor (SDK defaults), exporting over
// OTLP/gRPC to BENCH_OTLP_URL, or to an exporter that drops batches (BENCH_EXPORTER=noop).
// Counts the spans that ended and the spans handed to the exporter, so a run proves
// real spans were made (and shows any the batch processor dropped).
import { trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

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
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [countEnded, new BatchSpanProcessor(counting)],
  });
  provider.register(process.env.BENCH_CTX === 'none' ? { contextManager: null } : {});
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      return counts;
    },
  };
}
