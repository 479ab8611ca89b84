import { totalmem } from 'node:os';
import type { MeterProvider } from '@opentelemetry/api';

/**
 * The memory this process may use: its cgroup (container) limit, or the
 * machine's memory when it has none (Node reports "no limit" as 0 or 2^64).
 */
export function memoryLimitBytes(): number {
  const machine = totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < machine ? constrained : machine;
}

/**
 * Process gauges every service needs for its alerts (e.g. "resident memory
 * above 80 % of the limit": `process_resident_memory_bytes` over
 * `process_memory_limit_bytes`, so it holds for every service whatever its
 * limit). Named as Prometheus stores them, read only when a reader collects:
 * nothing runs between scrapes.
 */
export function registerRuntimeMetrics(meterProvider: MeterProvider): void {
  const meter = meterProvider.getMeter('@media-cluster/telemetry');
  const rss = meter.createObservableGauge('process_resident_memory_bytes', {
    description: 'Resident set size of the process',
    unit: 'By',
  });
  const limit = meter.createObservableGauge('process_memory_limit_bytes', {
    description: 'Memory the process may use: its container (cgroup) limit, else the machine memory',
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
      result.observe(limit, memoryLimitBytes());
      result.observe(heapUsed, memory.heapUsed);
      const { user, system } = process.cpuUsage();
      result.observe(cpu, (user + system) / 1e6);
    },
    [rss, limit, heapUsed, cpu],
  );
}
