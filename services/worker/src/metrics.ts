import { PHOTO_REJECTION_REASONS } from '@media-cluster/photo';
import {
  CLUSTERS_PER_JOB_BUCKETS,
  LABEL_REASON,
  type MetricSpec,
  SECONDS_BUCKETS,
  WORKER_METRICS,
} from '@media-cluster/semconv';
import { type Attributes, metrics } from '@opentelemetry/api';

/** `media_cluster_photos_failed{reason}`: a blob gone from the store, or why the photo was rejected. */
export const PHOTO_FAILURE_REASONS = ['missing_blob', ...PHOTO_REJECTION_REASONS] as const;
export const WEBHOOK_FAILURE_REASONS = ['timeout', 'http_status', 'network', 'refused'] as const;

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * The worker's instruments (docs/metrics.md; names, units and buckets from
 * @media-cluster/semconv). Every family is touched at start-up so dashboards
 * and alerts see it before the first job.
 */
export function createWorkerMetrics(modelVersion: string) {
  const meter = metrics.getMeter('@media-cluster/worker');
  // The telemetry package's view gives every `*_seconds` histogram these buckets too; the advice
  // makes a meter provider without that view (tests) agree with production.
  const histogram = (spec: MetricSpec) =>
    meter.createHistogram(spec.name, {
      ...spec,
      advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] },
    });
  const counter = (spec: MetricSpec) => meter.createCounter(spec.name, spec);
  const m = {
    embedding: histogram(WORKER_METRICS.embedding),
    clustering: histogram(WORKER_METRICS.clustering),
    postgresWrite: histogram(WORKER_METRICS.postgresWrite),
    webhookDelivery: histogram(WORKER_METRICS.webhookDelivery),
    webhookFailures: counter(WORKER_METRICS.webhookFailures),
    photosProcessed: counter(WORKER_METRICS.photosProcessed),
    photosFailed: counter(WORKER_METRICS.photosFailed),
    clustersPerJob: meter.createHistogram(WORKER_METRICS.clustersPerJob.name, {
      ...WORKER_METRICS.clustersPerJob,
      advice: { explicitBucketBoundaries: [...CLUSTERS_PER_JOB_BUCKETS] },
    }),
  };
  // One label object per reason, made once: records reuse it instead of allocating per photo.
  const reasons = new Map<string, Attributes>();
  const reasonLabels = (reason: string): Attributes => {
    let labels = reasons.get(reason);
    if (!labels) {
      labels = Object.freeze({ [LABEL_REASON]: reason });
      reasons.set(reason, labels);
    }
    return labels;
  };
  m.photosProcessed.add(0);
  for (const reason of PHOTO_FAILURE_REASONS) m.photosFailed.add(0, reasonLabels(reason));
  for (const reason of WEBHOOK_FAILURE_REASONS) m.webhookFailures.add(0, reasonLabels(reason));
  return { ...m, modelVersion, reasonLabels };
}
