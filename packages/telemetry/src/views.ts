import { SECONDS_BUCKETS } from '@media-cluster/semconv';
import {
  type AggregationOption,
  AggregationType,
  createAllowListAttributesProcessor,
  InstrumentType,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';

// Bucket bounds of every second histogram: the vocabulary's, the same list the queue and the
// worker give as advice (so a test without these views sees what production stores).
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
