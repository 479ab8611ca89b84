/** Plain-object views of what arrived at the OTLP receiver (same shape for gRPC, HTTP protobuf and HTTP JSON). */

/** Attribute values as JS values: strings, booleans, numbers (int64 beyond 2^53 as decimal strings), arrays, objects, Uint8Array. */
export type Attributes = Record<string, unknown>;

export type SpanKindName = 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR';

export interface InstrumentationScope {
  name: string;
  version: string;
}

export interface ReceivedSpan {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  /** W3C tracestate of the span ('' when none). */
  traceState: string;
  name: string;
  /** SPAN_KIND_UNSPECIFIED is reported as 'INTERNAL', as the spec allows. */
  kind: SpanKindName;
  /** Decimal string (fixed64 does not fit a JS number). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** end - start in milliseconds (fractional). */
  durationMs: number;
  attributes: Attributes;
  /** Resource attributes, e.g. `resource['service.name']`. */
  resource: Attributes;
  scope: InstrumentationScope;
  events: { name: string; timeUnixNano: string; attributes: Attributes }[];
  links: { traceId: string; spanId: string; traceState: string; attributes: Attributes }[];
  status: { code: StatusCodeName; message: string };
}

export type MetricType = 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';
export type Temporality = 'unspecified' | 'delta' | 'cumulative';

export interface ReceivedExemplar {
  value: number;
  timeUnixNano: string;
  /** '' when the exemplar was not recorded inside a sampled span. */
  traceId: string;
  spanId: string;
  /** The exemplar's filtered attributes. */
  attributes: Attributes;
}

/** One data point; which fields are set depends on the metric type. */
export interface ReceivedDataPoint {
  attributes: Attributes;
  startTimeUnixNano: string;
  timeUnixNano: string;
  /** sum / gauge. */
  value?: number;
  /** histogram / exponentialHistogram / summary. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** histogram: one more entry than `explicitBounds`. */
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** exponentialHistogram. */
  scale?: number;
  zeroCount?: number;
  positive?: { offset: number; bucketCounts: number[] };
  negative?: { offset: number; bucketCounts: number[] };
  /** summary. */
  quantileValues?: { quantile: number; value: number }[];
  exemplars: ReceivedExemplar[];
}

export interface ReceivedMetric {
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  /** sum / histogram / exponentialHistogram. */
  temporality?: Temporality;
  /** sum only. */
  monotonic?: boolean;
  resource: Attributes;
  scope: InstrumentationScope;
  dataPoints: ReceivedDataPoint[];
}

export interface ReceivedLog {
  /** The body as a JS value (usually a string). */
  body: unknown;
  severityText: string;
  severityNumber: number;
  attributes: Attributes;
  /** '' when the record was not emitted inside a span. */
  traceId: string;
  spanId: string;
  timeUnixNano: string;
  observedTimeUnixNano: string;
  resource: Attributes;
  scope: InstrumentationScope;
}

export type OtlpSignal = 'traces' | 'metrics' | 'logs';
export type OtlpTransport = 'grpc' | 'http';

/**
 * What the receiver does with an export call.
 * - `ok`: record and answer success.
 * - `hang`: accept the call, never answer, record nothing (a stuck collector).
 * - `unavailable`: record nothing, answer gRPC UNAVAILABLE / HTTP 503.
 */
export type ReceiverBehaviour = 'ok' | 'hang' | 'unavailable';

/** One export call as the receiver saw it, whatever it answered. */
export interface ReceivedCall {
  signal: OtlpSignal;
  transport: OtlpTransport;
  /** The behaviour applied, or 'invalid' when the payload could not be decoded. */
  outcome: ReceiverBehaviour | 'invalid';
  /** Spans / data points / log records in the payload (0 when invalid). */
  items: number;
}

/** Internal: how the receiver answers one export call; the transport turns it into a reply. */
export type ExportVerdict =
  | { outcome: 'ok' | 'hang' | 'unavailable' }
  | { outcome: 'invalid'; reason: string };

/**
 * Internal: called by a transport for each export call. `decode` yields the
 * request object; when it (or normalizing it) throws, the call is 'invalid'.
 */
export type ExportHandler = (
  signal: OtlpSignal,
  transport: OtlpTransport,
  decode: () => unknown,
) => ExportVerdict;
