import { type ChannelOptions, type Client, type Metadata, makeGenericClientConstructor } from '@grpc/grpc-js';
import { OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  createOtlpNetworkExportDelegate,
  type ExportResponse,
  type IExporterTransport,
  OTLPExporterBase,
} from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExporterMetrics,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import {
  type IExporterMetricsHelper,
  type ISerializer,
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/**
 * grpc-js backs off reconnecting up to 120 s by default, so after a collector
 * outage of a minute or two a service could keep dropping telemetry for two
 * more minutes although the collector is back. Capping the backoff keeps the
 * gap after recovery to a few seconds, at the cost of one TCP connect attempt
 * every few seconds while the collector is down.
 */
export const RECONNECT_OPTIONS: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

type GrpcConfiguration = ReturnType<typeof convertLegacyOtlpGrpcOptions>;

const GRPC_COMPRESSION = { none: 0, gzip: 2 } as const;
const DEADLINE_EXCEEDED = 4;
/** Same rule as the upstream transport: a channel that keeps timing out is replaced. */
const MAX_DEADLINE_EXCEEDED = 5;
const identity = (value: Buffer) => value;

interface ExportClient extends Client {
  export(
    data: Buffer,
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: (Error & { code?: number }) | null, response?: Buffer) => void,
  ): void;
}

interface Service {
  /** gRPC service name, e.g. `TraceExportService`. */
  name: string;
  /** Full method path of the OTLP Export call. */
  path: string;
}

/**
 * The OTLP/gRPC transport, ours instead of upstream's only because upstream
 * offers no way to pass channel options: the same unary Export call with
 * raw protobuf bytes, plus {@link RECONNECT_OPTIONS}. The SDK pieces around
 * it (configuration from OTEL_EXPORTER_OTLP_*, serializers, retries,
 * concurrency limit, self-metrics) are the public ones upstream builds its
 * exporters from.
 */
export class ReconnectingGrpcTransport implements IExporterTransport {
  private client: ExportClient | undefined;
  private metadata: Metadata | undefined;
  private deadlineErrors = 0;

  constructor(
    private readonly config: GrpcConfiguration,
    private readonly service: Service,
  ) {}

  /** What the next channel is created with (read by the tests). */
  channelOptions(): ChannelOptions {
    return {
      ...RECONNECT_OPTIONS,
      'grpc.default_compression_algorithm':
        this.config.compression === 'gzip' ? GRPC_COMPRESSION.gzip : GRPC_COMPRESSION.none,
      'grpc.primary_user_agent': [this.config.userAgent, 'OTel-OTLP-Exporter-JavaScript']
        .filter(Boolean)
        .join(' '),
    };
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    let client: ExportClient;
    let metadata: Metadata;
    try {
      metadata = this.metadata ??= this.config.metadata();
      client = this.client ??= this.createClient();
    } catch (error) {
      return { status: 'failure', error: error as Error };
    }
    return new Promise((resolve) => {
      client.export(
        // A view of the serialized request, not a copy of it (one batch per export).
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        metadata,
        { deadline: Date.now() + timeoutMillis },
        (error, response) => {
          if (!error) {
            this.deadlineErrors = 0;
            resolve({ status: 'success', ...(response ? { data: response } : {}) });
            return;
          }
          resolve({ status: 'failure', error });
          if (error.code === DEADLINE_EXCEEDED && ++this.deadlineErrors > MAX_DEADLINE_EXCEEDED) {
            this.shutdown();
          }
        },
      );
    });
  }

  /** Closes the channel: calls still waiting for a connection fail at once. A later send opens a new one. */
  shutdown(): void {
    const client = this.client;
    this.client = undefined;
    this.deadlineErrors = 0;
    client?.close();
  }

  private createClient(): ExportClient {
    const Constructor = makeGenericClientConstructor(
      {
        export: {
          path: this.service.path,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      this.service.name,
    );
    return new Constructor(
      this.config.url,
      this.config.credentials(),
      this.channelOptions(),
    ) as unknown as ExportClient;
  }
}

export interface GrpcExporterHandle<E> {
  exporter: E;
  /** Closes the exporter's channel now (shutdown overran its bound). */
  transport: ReconnectingGrpcTransport;
}

function build<Internal>(
  config: OTLPGRPCExporterConfigNode,
  signal: 'TRACES' | 'METRICS' | 'LOGS',
  service: Service,
  componentType: string,
  serializer: ISerializer<Internal, unknown>,
  helper: IExporterMetricsHelper<Internal>,
) {
  const options = convertLegacyOtlpGrpcOptions(config, signal);
  const transport = new ReconnectingGrpcTransport(options, service);
  const delegate = createOtlpNetworkExportDelegate(
    options,
    serializer,
    createOtlpGrpcExporterMetrics(componentType, helper, options.url, undefined),
    transport,
  );
  return { delegate, transport };
}

/** OTLP/gRPC span exporter (OTEL_EXPORTER_OTLP_[TRACES_]* like upstream's) with a capped reconnect backoff. */
export function createTraceExporter(
  config: OTLPGRPCExporterConfigNode = {},
): GrpcExporterHandle<OTLPExporterBase<ReadableSpan[]>> {
  const { delegate, transport } = build(
    config,
    'TRACES',
    { name: 'TraceExportService', path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export' },
    'otlp_grpc_span_exporter',
    ProtobufTraceSerializer,
    TraceExporterMetricsHelper,
  );
  return { exporter: new OTLPExporterBase(delegate), transport };
}

/** OTLP/gRPC metric exporter (cumulative unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says otherwise). */
export function createMetricExporter(
  config: OTLPGRPCExporterConfigNode = {},
): GrpcExporterHandle<OTLPMetricExporterBase> {
  const { delegate, transport } = build<ResourceMetrics>(
    config,
    'METRICS',
    { name: 'MetricsExportService', path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export' },
    'otlp_grpc_metric_exporter',
    ProtobufMetricsSerializer,
    MetricsExporterMetricsHelper,
  );
  return { exporter: new OTLPMetricExporterBase(delegate, config), transport };
}

/** OTLP/gRPC log record exporter. */
export function createLogExporter(
  config: OTLPGRPCExporterConfigNode = {},
): GrpcExporterHandle<OTLPExporterBase<ReadableLogRecord[]>> {
  const { delegate, transport } = build(
    config,
    'LOGS',
    { name: 'LogsExportService', path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export' },
    'otlp_grpc_log_exporter',
    ProtobufLogsSerializer,
    LogsExporterMetricsHelper,
  );
  return { exporter: new OTLPExporterBase(delegate), transport };
}
