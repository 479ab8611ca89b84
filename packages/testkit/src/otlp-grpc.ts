import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { OTLP_SERVICES, PROTO_DIR, TO_OBJECT_OPTIONS } from './otlp-proto.js';
import type { ExportHandler, OtlpSignal } from './otlp-types.js';

export interface GrpcTransport {
  readonly port: number;
  /** Cancels every call (hung ones too) and closes the port. */
  close(): void;
}

/** Large batches from benchmarks must not hit gRPC's 4 MB default. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** OTLP/gRPC: the Trace, Metrics and Logs services' Export on one port. */
export function startGrpcTransport(
  host: string,
  port: number,
  handle: ExportHandler,
): Promise<GrpcTransport> {
  const definition = protoLoader.loadSync(
    Object.values(OTLP_SERVICES).map((s) => s.file),
    { ...TO_OBJECT_OPTIONS, keepCase: false, includeDirs: [PROTO_DIR] },
  );
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  });
  for (const [signal, spec] of Object.entries(OTLP_SERVICES) as [
    OtlpSignal,
    (typeof OTLP_SERVICES)[OtlpSignal],
  ][]) {
    const service = definition[spec.service] as grpc.ServiceDefinition;
    server.addService(service, {
      Export(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
        const verdict = handle(signal, 'grpc', () => call.request);
        if (verdict.outcome === 'hang') return; // never answered; close() cancels it
        if (verdict.outcome === 'unavailable') {
          callback({ code: grpc.status.UNAVAILABLE, details: 'testkit receiver: behaviour "unavailable"' });
        } else if (verdict.outcome === 'invalid') {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `testkit receiver: ${verdict.reason}` });
        } else {
          callback(null, {});
        }
      },
    });
  }
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) {
        server.forceShutdown();
        reject(error);
        return;
      }
      let closed = false;
      resolve({
        port: bound,
        close() {
          if (closed) return;
          closed = true;
          // forceShutdown, not tryShutdown: tryShutdown waits for hung calls forever.
          server.forceShutdown();
        },
      });
    });
  });
}
