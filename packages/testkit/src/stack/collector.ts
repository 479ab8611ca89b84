import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { REPO_ROOT } from '../repo-root.js';
import { stackBinaryPath } from './go-programs.js';
import { answers, type ProgramProcess, startProgram } from './program.js';

export interface CollectorOptions {
  /** Where traces go (`host:port` of an OTLP gRPC receiver, e.g. Jaeger's). */
  jaegerOtlpEndpoint: string;
  /** @defaultValue the repo's otel-collector-config.yaml, unmodified */
  configFile?: string;
  /** More environment for the collector process. */
  env?: Record<string, string>;
  /** Fixed ports (`pnpm stack` uses the usual ones); default: free ports. */
  ports?: Partial<Record<'otlpGrpc' | 'otlpHttp' | 'prometheus' | 'telemetry' | 'health', number>>;
}

export interface CollectorHandle extends ProgramProcess {
  /** `http://127.0.0.1:<port>` of the OTLP gRPC receiver. */
  readonly otlpGrpcUrl: string;
  readonly otlpHttpUrl: string;
  /** `127.0.0.1:<port>` of the prometheus exporter (app metrics + spanmetrics). */
  readonly prometheusTarget: string;
  /** `127.0.0.1:<port>` of the collector's own metrics. */
  readonly telemetryTarget: string;
  /** The OTEL_* variables that point an SDK at this collector (gRPC, as compose does). */
  exporterEnv(): Record<string, string>;
}

/**
 * The real OpenTelemetry Collector (built from observability/stack/collector)
 * running the repo's config, its listeners on free loopback ports through the
 * config's ${env:...} variables.
 */
export async function startCollector(options: CollectorOptions): Promise<CollectorHandle> {
  const p = options.ports ?? {};
  const [grpc, http, prom, telemetry, health] = await Promise.all(
    [p.otlpGrpc, p.otlpHttp, p.prometheus, p.telemetry, p.health].map((port) => port ?? freePort()),
  );
  const env = {
    OTEL_COLLECTOR_BIND_HOST: '127.0.0.1',
    OTEL_COLLECTOR_OTLP_GRPC_PORT: String(grpc),
    OTEL_COLLECTOR_OTLP_HTTP_PORT: String(http),
    OTEL_COLLECTOR_PROMETHEUS_PORT: String(prom),
    OTEL_COLLECTOR_TELEMETRY_PORT: String(telemetry),
    OTEL_COLLECTOR_HEALTH_PORT: String(health),
    JAEGER_OTLP_ENDPOINT: options.jaegerOtlpEndpoint,
    ...options.env,
  };
  const program = await startProgram({
    what: 'the OpenTelemetry Collector',
    binary: stackBinaryPath('otelcol-media-cluster'),
    args: [`--config=${options.configFile ?? join(REPO_ROOT, 'otel-collector-config.yaml')}`],
    env,
    ready: () => answers(`http://127.0.0.1:${health}/`),
  });
  const handle = Object.create(program) as CollectorHandle;
  return Object.assign(handle, {
    otlpGrpcUrl: `http://127.0.0.1:${grpc}`,
    otlpHttpUrl: `http://127.0.0.1:${http}`,
    prometheusTarget: `127.0.0.1:${prom}`,
    telemetryTarget: `127.0.0.1:${telemetry}`,
    exporterEnv: () => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpc}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    }),
  });
}
