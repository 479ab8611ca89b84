import {
  type AggregationOption,
  AggregationType,
  createAllowListAttributesProcessor,
  InstrumentType,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';

/**
 * Bucket bounds for every histogram in seconds: from 1 ms (API requests) to
 * 10 min (queue latency and processing; the alerts fire at 60 s and 300 s,
 * which are bounds here so their quantiles are exact at the threshold).
 */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

const secondsHistogram = (): AggregationOption => ({
  type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
  options: { boundaries: [...SECONDS_BUCKETS] },
});

/**
 * Views of the MeterProvider. Each instrument matches at most one view (two
 * matches would export it twice): the HTTP and pg durations by exact name,
 * our own `*_seconds` histograms by the naming rule in docs/metrics.md.
 */
export function createViews(): ViewOptions[] {
  return [
    {
      // Only the labels docs/metrics.md lists: scheme, protocol version,
      // server address etc. would multiply series for nothing.
      instrumentName: 'http.server.request.duration',
      instrumentType: InstrumentType.HISTOGRAM,
      aggregation: secondsHistogram(),
      attributesProcessors: [
        createAllowListAttributesProcessor([
          'http.route',
          'http.request.method',
          'http.response.status_code',
        ]),
      ],
    },
    {
      // Webhook calls: the host is bounded by CALLBACK_ALLOWED_HOSTS.
      instrumentName: 'http.client.request.duration',
      instrumentType: InstrumentType.HISTOGRAM,
      aggregation: secondsHistogram(),
      attributesProcessors: [
        createAllowListAttributesProcessor([
          'http.request.method',
          'http.response.status_code',
          'server.address',
          'error.type',
        ]),
      ],
    },
    {
      instrumentName: 'db.client.operation.duration',
      instrumentType: InstrumentType.HISTOGRAM,
      aggregation: secondsHistogram(),
    },
    {
      instrumentName: '*_seconds',
      instrumentType: InstrumentType.HISTOGRAM,
      aggregation: secondsHistogram(),
    },
  ];
}
