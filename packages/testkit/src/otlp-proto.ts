import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { OtlpSignal } from './otlp-types.js';

/**
 * The vendored OTLP protos (see proto/README.md). src/ and dist/ are both one
 * level below the package root, so the same relative path works from vitest
 * (TypeScript sources) and from the built package.
 */
export const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

/** Per signal: the .proto file, the gRPC service and the request/response messages. */
export const OTLP_SERVICES: Record<
  OtlpSignal,
  { file: string; service: string; request: string; response: string; httpPath: string }
> = {
  traces: {
    file: 'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    service: 'opentelemetry.proto.collector.trace.v1.TraceService',
    request: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    response: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
    httpPath: '/v1/traces',
  },
  metrics: {
    file: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    service: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
    request: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
    response: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
    httpPath: '/v1/metrics',
  },
  logs: {
    file: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    service: 'opentelemetry.proto.collector.logs.v1.LogsService',
    request: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
    response: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
    httpPath: '/v1/logs',
  },
};

/**
 * How decoded messages become plain objects, for both transports: 64-bit
 * integers as decimal strings (fixed64 nanosecond times overflow a double),
 * enums as numbers (the default), bytes left as Buffers, unset fields absent (like OTLP JSON).
 */
export const TO_OBJECT_OPTIONS = { longs: String, defaults: false, oneofs: false } as const;

let root: protobuf.Root | undefined;

/** The protobufjs root with the three collector services loaded (cached). */
export function otlpRoot(): protobuf.Root {
  if (root) return root;
  if (!existsSync(PROTO_DIR)) {
    throw new Error(`OTLP protos not found at ${PROTO_DIR}: the testkit package must ship its proto/ dir`);
  }
  const loaded = new protobuf.Root();
  loaded.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  loaded.loadSync(
    Object.values(OTLP_SERVICES).map((s) => s.file),
    { keepCase: false },
  );
  root = loaded;
  return root;
}

/** Decodes a binary Export*ServiceRequest into the plain-object form the normalizer reads. */
export function decodeRequest(signal: OtlpSignal, bytes: Uint8Array): unknown {
  const type = otlpRoot().lookupType(OTLP_SERVICES[signal].request);
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS);
}

/** Encodes an empty (full-success) Export*ServiceResponse. */
export function encodeEmptyResponse(signal: OtlpSignal): Uint8Array {
  const type = otlpRoot().lookupType(OTLP_SERVICES[signal].response);
  return type.encode(type.create({})).finish();
}
