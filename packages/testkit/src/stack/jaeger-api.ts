import { normalizeTraces } from '../otlp-normalize.js';
import type { ReceivedSpan } from '../otlp-types.js';

/** A span as Jaeger's api_v3 returns it (OTLP JSON), normalized like the OTLP receiver's. */
export type JaegerSpan = ReceivedSpan & { readonly service: string };

/** Span kinds as the Monitor tab's API names them. */
export type SpmSpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

export interface SpmQuery {
  service: string;
  spanKind: SpmSpanKind;
  /** @defaultValue 10 min */
  lookbackMs?: number;
  /** @defaultValue 15 s */
  stepMs?: number;
  /** Only for latencies. @defaultValue 0.95 */
  quantile?: number;
  /** @defaultValue true */
  groupByOperation?: boolean;
}

/** One series of an SPM answer: its labels (operation, service_name) and points. */
export interface SpmSeries {
  labels: Record<string, string>;
  points: { timestampMs: number; value: number }[];
}

export interface JaegerApi {
  /** Every span of the trace ([] while Jaeger has none of it). */
  trace(traceId: string): Promise<JaegerSpan[]>;
  /** Service names Jaeger has seen. */
  services(): Promise<string[]>;
  /** Operation names of a service, optionally of one span kind. */
  operations(service: string, spanKind?: SpmSpanKind): Promise<string[]>;
  /**
   * The Monitor tab's queries (Jaeger reads them from Prometheus): request rate,
   * latency quantile, error rate per operation. Throws on an API error, so a
   * misconfigured metrics backend fails loudly instead of looking empty.
   */
  spm(kind: 'calls' | 'latencies' | 'errors', query: SpmQuery): Promise<SpmSeries[]>;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    throw new Error(`GET ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
  }
}

export function createJaegerApi(baseUrl: string): JaegerApi {
  return {
    async trace(traceId) {
      const { status, body } = await getJson<{ result?: unknown; error?: { message?: string } }>(
        `${baseUrl}/api/v3/traces/${traceId}`,
      );
      if (status === 404) return [];
      if (status !== 200 || !body.result) {
        throw new Error(
          `trace ${traceId}: HTTP ${status} ${JSON.stringify(body.error ?? body).slice(0, 500)}`,
        );
      }
      return normalizeTraces(body.result).map((span) => ({
        ...span,
        service: String(span.resource['service.name'] ?? ''),
      }));
    },
    async services() {
      const { body } = await getJson<{ data: string[] | null }>(`${baseUrl}/api/services`);
      return body.data ?? [];
    },
    async operations(service, spanKind) {
      const kind = spanKind ? `&spanKind=${spanKind}` : '';
      const { body } = await getJson<{ data: { name: string }[] | null }>(
        `${baseUrl}/api/operations?service=${encodeURIComponent(service)}${kind}`,
      );
      return (body.data ?? []).map((o) => o.name);
    },
    async spm(kind, query) {
      const params = new URLSearchParams({
        service: query.service,
        spanKind: query.spanKind,
        endTs: String(Date.now()),
        lookback: String(query.lookbackMs ?? 600_000),
        step: String(query.stepMs ?? 15_000),
        ratePer: '60000',
        groupByOperation: String(query.groupByOperation ?? true),
      });
      if (kind === 'latencies') params.set('quantile', String(query.quantile ?? 0.95));
      const url = `${baseUrl}/api/metrics/${kind}?${params}`;
      const { status, body } = await getJson<{
        metrics?: {
          labels?: { name: string; value: string }[];
          metricPoints?: { gaugeValue?: { doubleValue?: number }; timestamp: string }[];
        }[];
        errors?: { msg?: string }[];
      }>(url);
      if (status !== 200) throw new Error(`GET ${url}: HTTP ${status} ${JSON.stringify(body).slice(0, 500)}`);
      return (body.metrics ?? []).map((m) => ({
        labels: Object.fromEntries((m.labels ?? []).map((l) => [l.name, l.value])),
        points: (m.metricPoints ?? []).map((p) => ({
          timestampMs: Date.parse(p.timestamp),
          value: Number(p.gaugeValue?.doubleValue ?? Number.NaN),
        })),
      }));
    },
  };
}
