import { join } from 'node:path';
import { freePort } from '../free-port.js';
import { REPO_ROOT } from '../repo-root.js';
import { type WaitOptions, waitFor } from '../wait-for.js';
import { stackBinaryPath } from './go-programs.js';
import { createJaegerApi, type JaegerApi, type JaegerSpan } from './jaeger-api.js';
import { answers, type ProgramProcess, startProgram } from './program.js';

export interface JaegerOptions {
  /** Where the Monitor tab reads spanmetrics (the stack's Prometheus). */
  prometheusUrl: string;
  /** @defaultValue the repo's observability/jaeger/config.yaml, unmodified */
  configFile?: string;
  /** Fixed ports (`pnpm stack` uses the usual ones); default: free ports. */
  ports?: Partial<Record<'otlpGrpc' | 'otlpHttp' | 'queryHttp' | 'queryGrpc' | 'telemetry', number>>;
}

export interface JaegerHandle extends ProgramProcess, JaegerApi {
  /** `http://127.0.0.1:<port>`: UI and HTTP query API. */
  readonly url: string;
  /** `127.0.0.1:<port>` of its OTLP gRPC receiver (where the collector sends traces). */
  readonly otlpGrpcEndpoint: string;
  /** `127.0.0.1:<port>` of Jaeger's own metrics. */
  readonly telemetryTarget: string;
  /** True when the binary carries the UI (a source build has only a placeholder page). */
  hasUi(): Promise<boolean>;
  /**
   * Polls the trace until `predicate` holds for its spans (default: any span).
   * The timeout error lists what arrived.
   */
  waitForTrace(
    traceId: string,
    predicate?: (spans: JaegerSpan[]) => boolean,
    options?: Pick<WaitOptions, 'timeoutMs' | 'intervalMs'>,
  ): Promise<JaegerSpan[]>;
}

/**
 * Jaeger v2 (built from observability/stack/jaeger) running the repo's config:
 * in-memory trace store, query API, and the Monitor tab's metrics from Prometheus.
 */
export async function startJaeger(options: JaegerOptions): Promise<JaegerHandle> {
  const p = options.ports ?? {};
  const [otlpGrpc, otlpHttp, queryHttp, queryGrpc, telemetry] = await Promise.all(
    [p.otlpGrpc, p.otlpHttp, p.queryHttp, p.queryGrpc, p.telemetry].map((port) => port ?? freePort()),
  );
  const url = `http://127.0.0.1:${queryHttp}`;
  const program = await startProgram({
    what: 'Jaeger',
    binary: stackBinaryPath('jaeger'),
    args: ['--config', options.configFile ?? join(REPO_ROOT, 'observability/jaeger/config.yaml')],
    env: {
      JAEGER_BIND_HOST: '127.0.0.1',
      JAEGER_OTLP_GRPC_PORT: String(otlpGrpc),
      JAEGER_OTLP_HTTP_PORT: String(otlpHttp),
      JAEGER_QUERY_HTTP_PORT: String(queryHttp),
      JAEGER_QUERY_GRPC_PORT: String(queryGrpc),
      JAEGER_TELEMETRY_PORT: String(telemetry),
      JAEGER_PROMETHEUS_URL: options.prometheusUrl,
      // Jaeger traces its own query API to the default OTLP endpoint, localhost:4317: in
      // compose that is Jaeger itself; here it would be whatever listens there (`pnpm
      // stack`'s collector, another test's). Point it at itself, as compose does.
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpGrpc}`,
    },
    ready: () => answers(`${url}/api/services`),
  });
  const api = createJaegerApi(url);
  const handle = Object.create(program) as JaegerHandle;
  return Object.assign(handle, api, {
    url,
    otlpGrpcEndpoint: `127.0.0.1:${otlpGrpc}`,
    telemetryTarget: `127.0.0.1:${telemetry}`,
    async hasUi() {
      const page = await (await fetch(`${url}/`)).text();
      return !/<title>Test Page<\/title>/.test(page) && /jaeger/i.test(page);
    },
    async waitForTrace(
      traceId: string,
      predicate: (spans: JaegerSpan[]) => boolean = (s) => s.length > 0,
      waitOptions: Pick<WaitOptions, 'timeoutMs' | 'intervalMs'> = {},
    ) {
      let last: JaegerSpan[] = [];
      try {
        return await waitFor(
          async () => {
            last = await api.trace(traceId);
            return predicate(last) ? last : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 500, ...waitOptions, what: `trace ${traceId} in Jaeger` },
        );
      } catch (error) {
        const names = last.map((s) => `${s.service}:${s.name}`).join(', ') || 'no spans';
        throw new Error(`${(error as Error).message}; it has ${names}`, { cause: error });
      }
    },
  });
}
