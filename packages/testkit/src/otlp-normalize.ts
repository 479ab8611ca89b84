import type {
  MetricType,
  ReceivedDataPoint,
  ReceivedExemplar,
  ReceivedLog,
  ReceivedMetric,
  ReceivedSpan,
  SpanKindName,
  StatusCodeName,
  Temporality,
} from './otlp-types.js';
import {
  anyValue,
  attributes,
  enumIndex,
  scope,
  toHex,
  toLongString,
  toNumber,
  type Wire,
} from './otlp-values.js';

/**
 * Turns decoded Export*ServiceRequest objects (protobufjs `toObject` or OTLP
 * JSON, both lowerCamelCase) into flat Received* records. The deprecated
 * `instrumentationLibrary*` fields are read when `scope*` is absent, as the
 * OTLP spec asks receivers to.
 */

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;
const TEMPORALITIES = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
] as const;
const SEVERITIES_PREFIX = 'SEVERITY_NUMBER_';
const SEVERITY_NAMES = [
  'UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((s) => [s, `${s}2`, `${s}3`, `${s}4`]),
].map((s) => SEVERITIES_PREFIX + s);

function list(value: Wire): Wire[] {
  return Array.isArray(value) ? value : [];
}

function durationMs(start: string, end: string): number {
  return Number(BigInt(end) - BigInt(start)) / 1e6;
}

export function normalizeTraces(request: Wire): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of list(request?.resourceSpans)) {
    const resource = attributes(rs.resource?.attributes);
    const groups = rs.scopeSpans ?? rs.instrumentationLibrarySpans;
    for (const ss of list(groups)) {
      const spanScope = scope(ss.scope ?? ss.instrumentationLibrary);
      for (const s of list(ss.spans)) {
        const start = toLongString(s.startTimeUnixNano);
        const end = toLongString(s.endTimeUnixNano);
        const kind = SPAN_KINDS[enumIndex(s.kind, SPAN_KINDS)] ?? 'SPAN_KIND_INTERNAL';
        const code = STATUS_CODES[enumIndex(s.status?.code, STATUS_CODES)] ?? 'STATUS_CODE_UNSET';
        spans.push({
          traceId: toHex(s.traceId),
          spanId: toHex(s.spanId),
          parentSpanId: toHex(s.parentSpanId),
          traceState: s.traceState ?? '',
          name: s.name ?? '',
          kind: (kind === 'SPAN_KIND_UNSPECIFIED'
            ? 'INTERNAL'
            : kind.slice('SPAN_KIND_'.length)) as SpanKindName,
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationMs: durationMs(start, end),
          attributes: attributes(s.attributes),
          resource,
          scope: spanScope,
          events: list(s.events).map((e) => ({
            name: e.name ?? '',
            timeUnixNano: toLongString(e.timeUnixNano),
            attributes: attributes(e.attributes),
          })),
          links: list(s.links).map((l) => ({
            traceId: toHex(l.traceId),
            spanId: toHex(l.spanId),
            traceState: l.traceState ?? '',
            attributes: attributes(l.attributes),
          })),
          status: {
            code: code.slice('STATUS_CODE_'.length) as StatusCodeName,
            message: s.status?.message ?? '',
          },
        });
      }
    }
  }
  return spans;
}

function exemplar(e: Wire): ReceivedExemplar {
  return {
    value: e.asDouble !== undefined ? toNumber(e.asDouble) : toNumber(e.asInt),
    timeUnixNano: toLongString(e.timeUnixNano),
    traceId: toHex(e.traceId),
    spanId: toHex(e.spanId),
    attributes: attributes(e.filteredAttributes),
  };
}

function basePoint(p: Wire): ReceivedDataPoint {
  return {
    attributes: attributes(p.attributes),
    startTimeUnixNano: toLongString(p.startTimeUnixNano),
    timeUnixNano: toLongString(p.timeUnixNano),
    exemplars: list(p.exemplars).map(exemplar),
  };
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : toNumber(value);
}

function numberPoint(p: Wire): ReceivedDataPoint {
  return { ...basePoint(p), value: p.asDouble !== undefined ? toNumber(p.asDouble) : toNumber(p.asInt) };
}

function histogramPoint(p: Wire): ReceivedDataPoint {
  return {
    ...basePoint(p),
    count: toNumber(p.count),
    sum: optionalNumber(p.sum),
    min: optionalNumber(p.min),
    max: optionalNumber(p.max),
    bucketCounts: list(p.bucketCounts).map(toNumber),
    explicitBounds: list(p.explicitBounds).map(toNumber),
  };
}

function buckets(b: Wire) {
  return { offset: toNumber(b?.offset), bucketCounts: list(b?.bucketCounts).map(toNumber) };
}

function exponentialPoint(p: Wire): ReceivedDataPoint {
  return {
    ...basePoint(p),
    count: toNumber(p.count),
    sum: optionalNumber(p.sum),
    min: optionalNumber(p.min),
    max: optionalNumber(p.max),
    scale: toNumber(p.scale),
    zeroCount: toNumber(p.zeroCount),
    positive: buckets(p.positive),
    negative: buckets(p.negative),
  };
}

function summaryPoint(p: Wire): ReceivedDataPoint {
  return {
    ...basePoint(p),
    count: toNumber(p.count),
    sum: optionalNumber(p.sum),
    quantileValues: list(p.quantileValues).map((q) => ({
      quantile: toNumber(q.quantile),
      value: toNumber(q.value),
    })),
  };
}

const POINT_READERS: Record<MetricType, (p: Wire) => ReceivedDataPoint> = {
  sum: numberPoint,
  gauge: numberPoint,
  histogram: histogramPoint,
  exponentialHistogram: exponentialPoint,
  summary: summaryPoint,
};

function temporality(value: unknown): Temporality {
  return (['unspecified', 'delta', 'cumulative'] as const)[enumIndex(value, TEMPORALITIES)] ?? 'unspecified';
}

export function normalizeMetrics(request: Wire): ReceivedMetric[] {
  const metrics: ReceivedMetric[] = [];
  for (const rm of list(request?.resourceMetrics)) {
    const resource = attributes(rm.resource?.attributes);
    for (const sm of list(rm.scopeMetrics ?? rm.instrumentationLibraryMetrics)) {
      const metricScope = scope(sm.scope ?? sm.instrumentationLibrary);
      for (const m of list(sm.metrics)) {
        const type = (Object.keys(POINT_READERS) as MetricType[]).find(
          (t) => m[t] !== undefined && m[t] !== null,
        );
        if (!type) continue; // a metric with no data is allowed and carries nothing to assert
        const data = m[type];
        metrics.push({
          name: m.name ?? '',
          description: m.description ?? '',
          unit: m.unit ?? '',
          type,
          ...(type === 'sum' || type === 'histogram' || type === 'exponentialHistogram'
            ? { temporality: temporality(data.aggregationTemporality) }
            : {}),
          ...(type === 'sum' ? { monotonic: Boolean(data.isMonotonic) } : {}),
          resource,
          scope: metricScope,
          dataPoints: list(data.dataPoints).map(POINT_READERS[type]),
        });
      }
    }
  }
  return metrics;
}

export function normalizeLogs(request: Wire): ReceivedLog[] {
  const logs: ReceivedLog[] = [];
  for (const rl of list(request?.resourceLogs)) {
    const resource = attributes(rl.resource?.attributes);
    for (const sl of list(rl.scopeLogs ?? rl.instrumentationLibraryLogs)) {
      const logScope = scope(sl.scope ?? sl.instrumentationLibrary);
      for (const r of list(sl.logRecords)) {
        logs.push({
          body: anyValue(r.body),
          severityText: r.severityText ?? '',
          severityNumber: enumIndex(r.severityNumber, SEVERITY_NAMES),
          attributes: attributes(r.attributes),
          traceId: toHex(r.traceId),
          spanId: toHex(r.spanId),
          timeUnixNano: toLongString(r.timeUnixNano),
          observedTimeUnixNano: toLongString(r.observedTimeUnixNano),
          resource,
          scope: logScope,
        });
      }
    }
  }
  return logs;
}
