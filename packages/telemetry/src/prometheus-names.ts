import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/**
 * OTel unit -> Prometheus unit word, as the OpenTelemetry Collector's
 * Prometheus exporter (and Prometheus' own OTLP receiver) translate them.
 */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

function unitWord(unit: string, words: Readonly<Record<string, string>>): string {
  const trimmed = unit.trim();
  if (trimmed === '' || trimmed.includes('{') || trimmed.includes('}')) return '';
  const word = Object.hasOwn(words, trimmed) ? (words[trimmed] as string) : trimmed;
  return word.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

export type PrometheusKind = 'counter' | 'gauge' | 'updowncounter' | 'histogram';

/**
 * The name Prometheus finally stores for an OTel instrument, following the
 * collector's translation (`add_metric_suffixes`, the default): the name is
 * split into alphanumeric tokens, the unit word is appended unless one token
 * already equals it, counters end in `_total`, gauges with unit `1` in
 * `_ratio`. Our /metrics endpoint serves the same names, so a metric has one
 * Prometheus name whichever way it travels.
 *
 * @example prometheusName('http.server.request.duration', 's', 'histogram') === 'http_server_request_duration_seconds'
 * @example prometheusName('media_cluster_queue_latency_seconds', 's', 'histogram') === 'media_cluster_queue_latency_seconds'
 * @example prometheusName('media_cluster_jobs', '{job}', 'counter') === 'media_cluster_jobs_total'
 */
export function prometheusName(name: string, unit: string, kind: PrometheusKind): string {
  let tokens = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const [main = '', per] = unit.split('/', 2);
  const mainWord = unitWord(main, UNIT_WORDS);
  if (mainWord !== '' && !tokens.includes(mainWord)) tokens.push(mainWord);
  if (per !== undefined) {
    const perWord = unitWord(per, PER_UNIT_WORDS);
    if (perWord !== '' && !tokens.includes(perWord)) tokens.push('per', perWord);
  }
  if (kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (kind === 'gauge' && unit === '1') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  const joined = tokens.join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

function kindOf(metric: MetricData): PrometheusKind {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.GAUGE:
      return 'gauge';
    default:
      return 'histogram';
  }
}

const cache = new Map<string, string>();

/** `resourceMetrics` with every metric renamed to its Prometheus name (the input is not modified). */
export function withPrometheusNames(resourceMetrics: ResourceMetrics): ResourceMetrics {
  return {
    resource: resourceMetrics.resource,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
      scope: scope.scope,
      metrics: scope.metrics.map((metric) => {
        const { name, unit } = metric.descriptor;
        const kind = kindOf(metric);
        const key = `${name}\u0000${unit}\u0000${kind}`;
        let translated = cache.get(key);
        if (translated === undefined) {
          translated = prometheusName(name, unit, kind);
          if (cache.size > 10_000) cache.clear();
          cache.set(key, translated);
        }
        // The unit now lives in the name; a `# UNIT` comment would only repeat it.
        return { ...metric, descriptor: { ...metric.descriptor, name: translated, unit: '' } } as MetricData;
      }),
    })),
  };
}
