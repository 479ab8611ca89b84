/** A minimal client for the parts of Prometheus' HTTP API that tests use. */

export interface PromSample {
  metric: Record<string, string>;
  value: number;
  timestampMs: number;
}

export interface PromSeries {
  metric: Record<string, string>;
  values: { timestampMs: number; value: number }[];
}

export interface PromTarget {
  job: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  labels: Record<string, string>;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'inactive' | 'pending' | 'firing';
  value: number;
}

export interface PromExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: number; timestampMs: number }[];
}

export interface PromRuleGroup {
  name: string;
  file: string;
  rules: {
    name: string;
    type: 'recording' | 'alerting';
    health: string;
    lastError?: string;
    query: string;
  }[];
}

export interface QueryRangeOptions {
  startMs: number;
  endMs: number;
  /** @defaultValue 1_000 ms */
  stepMs?: number;
}

/** Prometheus encodes sample values as strings, with Go's spellings of infinity. */
export function parseSampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

type Pair = [number, string];

export function createPrometheusApi(baseUrl: string) {
  async function call<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = new URL(path, baseUrl);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json().catch(() => undefined)) as
      | { status: string; data: T; error?: string; errorType?: string }
      | undefined;
    if (body?.status !== 'success') {
      const reason = body?.error ? `${body.errorType}: ${body.error}` : `HTTP ${res.status}`;
      throw new Error(`Prometheus ${path} ${JSON.stringify(params)} failed: ${reason}`);
    }
    return body.data;
  }

  return {
    /** An instant query; a scalar or string result comes back as one sample without labels. */
    async query(promql: string, atMs?: number): Promise<PromSample[]> {
      const params: Record<string, string> = { query: promql };
      if (atMs !== undefined) params.time = String(atMs / 1000);
      const data = await call<{ resultType: string; result: unknown }>('/api/v1/query', params);
      if (data.resultType === 'vector') {
        return (data.result as { metric: Record<string, string>; value: Pair }[]).map((r) => ({
          metric: r.metric,
          value: parseSampleValue(r.value[1]),
          timestampMs: r.value[0] * 1000,
        }));
      }
      if (data.resultType === 'scalar' || data.resultType === 'string') {
        const [t, v] = data.result as Pair;
        return [{ metric: {}, value: parseSampleValue(v), timestampMs: t * 1000 }];
      }
      throw new Error(
        `query() wants an instant vector, "${promql}" gave a ${data.resultType}: use queryRange()`,
      );
    },

    async queryRange(promql: string, options: QueryRangeOptions): Promise<PromSeries[]> {
      const data = await call<{ result: { metric: Record<string, string>; values: Pair[] }[] }>(
        '/api/v1/query_range',
        {
          query: promql,
          start: String(options.startMs / 1000),
          end: String(options.endMs / 1000),
          step: `${(options.stepMs ?? 1_000) / 1000}`,
        },
      );
      return data.result.map((r) => ({
        metric: r.metric,
        values: r.values.map(([t, v]) => ({ timestampMs: t * 1000, value: parseSampleValue(v) })),
      }));
    },

    async exemplars(
      promql: string,
      options: Omit<QueryRangeOptions, 'stepMs'>,
    ): Promise<PromExemplarSeries[]> {
      const data = await call<
        {
          seriesLabels: Record<string, string>;
          exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
        }[]
      >('/api/v1/query_exemplars', {
        query: promql,
        start: String(options.startMs / 1000),
        end: String(options.endMs / 1000),
      });
      return data.map((s) => ({
        seriesLabels: s.seriesLabels,
        exemplars: s.exemplars.map((e) => ({
          labels: e.labels,
          value: parseSampleValue(e.value),
          timestampMs: e.timestamp * 1000,
        })),
      }));
    },

    async targets(): Promise<PromTarget[]> {
      const data = await call<{
        activeTargets: {
          labels: Record<string, string>;
          scrapePool: string;
          scrapeUrl: string;
          health: PromTarget['health'];
          lastError: string;
        }[];
      }>('/api/v1/targets', { state: 'active' });
      return data.activeTargets.map((t) => ({
        job: t.labels.job ?? t.scrapePool,
        scrapeUrl: t.scrapeUrl,
        health: t.health,
        lastError: t.lastError,
        labels: t.labels,
      }));
    },

    async alerts(): Promise<PromAlert[]> {
      const data = await call<{ alerts: (Omit<PromAlert, 'value'> & { value: string })[] }>('/api/v1/alerts');
      return data.alerts.map((a) => ({ ...a, value: parseSampleValue(a.value) }));
    },

    async rules(): Promise<PromRuleGroup[]> {
      const data = await call<{ groups: PromRuleGroup[] }>('/api/v1/rules');
      return data.groups.map((g) => ({
        name: g.name,
        file: g.file,
        rules: g.rules.map(({ name, type, health, lastError, query }) => ({
          name,
          type,
          health,
          lastError,
          query,
        })),
      }));
    },
  };
}

export type PrometheusApi = ReturnType<typeof createPrometheusApi>;
