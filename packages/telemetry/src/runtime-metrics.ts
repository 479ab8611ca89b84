import type { MeterProvider } from '@opentelemetry/api';

/**
 * Process gauges every service needs for its alerts (e.g. "process memory
 * > 1 GB" on `process_resident_memory_bytes`). Named as Prometheus stores
 * them, read only when a reader collects: nothing runs between scrapes.
 */
export function registerRuntimeMetrics(meterProvider: MeterProvider): void {
  const meter = meterProvider.getMeter('@media-cluster/telemetry');
  const rss = meter.createObservableGauge('process_resident_memory_bytes', {
    description: 'Resident set size of the process',
    unit: 'By',
  });
  const heapUsed = meter.createObservableGauge('nodejs_heap_size_used_bytes', {
    description: 'V8 heap in use',
    unit: 'By',
  });
  const cpu = meter.createObservableCounter('process_cpu_seconds', {
    description: 'User and system CPU time spent by the process',
    unit: 's',
  });
  meter.addBatchObservableCallback(
    (result) => {
      const memory = process.memoryUsage();
      result.observe(rss, memory.rss);
      result.observe(heapUsed, memory.heapUsed);
      const { user, system } = process.cpuUsage();
      result.observe(cpu, (user + system) / 1e6);
    },
    [rss, heapUsed, cpu],
  );
}
