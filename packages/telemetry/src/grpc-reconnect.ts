import { type ChannelOptions, makeGenericClientConstructor } from '@grpc/grpc-js';

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

/** The parts of the OTLP gRPC transport (otlp-grpc-exporter-base 0.223) that we rely on. */
interface GrpcTransportShape {
  _client?: unknown;
  _metadata?: unknown;
  _parameters?: {
    address: string;
    grpcPath: string;
    grpcName: string;
    compression?: string;
    userAgent?: string;
    credentials: () => unknown;
    metadata: () => unknown;
  };
}

const identity = (value: Buffer) => value;

/**
 * Makes the exporter's transport create its gRPC client with
 * {@link RECONNECT_OPTIONS} (the exporter offers no way to pass channel
 * options). The transport creates its client lazily and drops it after
 * repeated deadline errors; both paths go through the `_client` property,
 * which becomes an accessor here. Returns false, changing nothing, when the
 * transport does not have the expected shape.
 */
export function capReconnectBackoff(transport: unknown): boolean {
  const target = transport as GrpcTransportShape;
  const params = target?._parameters;
  if (!params || typeof params.credentials !== 'function' || typeof params.grpcPath !== 'string')
    return false;
  const Client = makeGenericClientConstructor(
    {
      export: {
        path: params.grpcPath,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    params.grpcName,
  );
  let client: unknown = target._client;
  Object.defineProperty(target, '_client', {
    configurable: true,
    enumerable: true,
    get() {
      if (client == null) {
        target._metadata ??= params.metadata();
        client = new Client(params.address, params.credentials() as never, {
          ...RECONNECT_OPTIONS,
          'grpc.default_compression_algorithm': params.compression === 'gzip' ? 2 : 0,
          'grpc.primary_user_agent': [params.userAgent, 'OTel-OTLP-Exporter-JavaScript']
            .filter(Boolean)
            .join(' '),
        });
      }
      return client;
    },
    set(value: unknown) {
      client = value;
    },
  });
  return true;
}
