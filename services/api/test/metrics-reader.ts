import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createApiMetrics } from '../src/metrics.js';

class TestReader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

/** The api's instruments on a private MeterProvider, and a reader of one data point. */
export function metricsUnderTest() {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const metrics = createApiMetrics(meter);
  const read = async (name: string, labels: Record<string, string> = {}) => {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === name);
    if (!metric) return undefined;
    const point = (metric.dataPoints as DataPoint<number>[]).find((p) =>
      Object.entries(labels).every(([k, v]) => p.attributes[k] === v),
    );
    return point?.value;
  };
  return { meter, metrics, read, shutdown: () => provider.shutdown() };
}
