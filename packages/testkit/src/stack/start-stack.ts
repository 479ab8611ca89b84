import { type PrometheusHandle, startPrometheus } from '../prometheus.js';
import { type CollectorHandle, type CollectorOptions, startCollector } from './collector.js';
import { type JaegerHandle, type JaegerOptions, startJaeger } from './jaeger.js';
import { repoPrometheusConfig, repoRuleFiles, type ScrapeAddresses } from './prometheus-config.js';

/** `host:port` of each service's own /metrics (scraped for `up`, as compose does). */
export interface ServiceTargets {
  api?: readonly string[];
  worker?: readonly string[];
}

export interface StackOptions {
  /** Where the api and the workers serve /metrics; may be set later with `setServiceTargets`. */
  services?: ServiceTargets;
  /**
   * Edits each rule file before Prometheus loads it (the tests shorten group
   * intervals so long-window groups evaluate within a test). Default: as written.
   */
  ruleTransform?: (text: string, file: string) => string;
  /** Fixed ports instead of free ones (`pnpm stack`). */
  ports?: { collector?: CollectorOptions['ports']; jaeger?: JaegerOptions['ports']; prometheus?: number };
}

export interface StackHandle {
  collector: CollectorHandle;
  jaeger: JaegerHandle;
  prometheus: PrometheusHandle;
  /** OTEL_* variables pointing an SDK at the collector. */
  exporterEnv(): Record<string, string>;
  /** Changes where the api's and workers' /metrics are scraped, and reloads Prometheus. */
  setServiceTargets(services: ServiceTargets): Promise<void>;
  /** Stops all three (collector first, so its last batches reach the others). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The observability stack of docker-compose.yml as native processes: the real
 * OpenTelemetry Collector running otel-collector-config.yaml, exporting traces
 * to Jaeger v2 (observability/jaeger/config.yaml) and serving metrics to
 * Prometheus (observability/prometheus/prometheus.yml, only its scrape
 * addresses changed, and its rules); Jaeger's Monitor tab reads Prometheus.
 * Each on free loopback ports in temp dirs, cleaned up like Redis and Postgres.
 */
export async function startStack(options: StackOptions = {}): Promise<StackHandle> {
  let services: ServiceTargets = options.services ?? {};
  let collector: CollectorHandle | undefined;
  let jaeger: JaegerHandle | undefined;
  let prometheus: PrometheusHandle | undefined;

  const addresses = (port: number): ScrapeAddresses => ({
    'localhost:9090': [`127.0.0.1:${port}`],
    'otel-collector:8889': collector ? [collector.prometheusTarget] : [],
    'otel-collector:8888': collector ? [collector.telemetryTarget] : [],
    'jaeger:8888': jaeger ? [jaeger.telemetryTarget] : [],
    'api:9464': [...(services.api ?? [])],
    'worker:9465': [...(services.worker ?? [])],
  });
  const config = (port: number) => repoPrometheusConfig(addresses(port));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await collector?.stop();
    await Promise.allSettled([jaeger?.stop(), prometheus?.stop()]);
  };

  try {
    // Jaeger needs Prometheus' URL and the collector needs Jaeger's: start in that
    // order, then tell Prometheus where the other two are.
    const ports = options.ports ?? {};
    prometheus = await startPrometheus({
      config,
      files: repoRuleFiles(options.ruleTransform),
      port: ports.prometheus,
    });
    jaeger = await startJaeger({ prometheusUrl: prometheus.url, ports: ports.jaeger });
    collector = await startCollector({ jaegerOtlpEndpoint: jaeger.otlpGrpcEndpoint, ports: ports.collector });
    await prometheus.reload({ config });
  } catch (error) {
    await stop();
    throw error;
  }
  const [c, j, p] = [collector, jaeger, prometheus];
  return {
    collector: c,
    jaeger: j,
    prometheus: p,
    exporterEnv: () => c.exporterEnv(),
    async setServiceTargets(next) {
      services = { ...services, ...next };
      await p.reload({ config });
    },
    stop,
  };
}
