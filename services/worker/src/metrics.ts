import { PHOTO_REJECTION_REASONS } from '@media-cluster/photo';
import { metrics } from '@opentelemetry/api';

/** `media_cluster_photos_failed{reason}`: a blob gone from the store, or why the photo was rejected. */
export const PHOTO_FAILURE_REASONS = ['missing_blob', ...PHOTO_REJECTION_REASONS] as const;
export const WEBHOOK_FAILURE_REASONS = ['timeout', 'http_status', 'network', 'refused'] as const;

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * The worker's instruments (docs/metrics.md). Every family is touched at
 * start-up so dashboards and alerts see it before the first job.
 */
export function createWorkerMetrics(modelVersion: string) {
  const meter = metrics.getMeter('@media-cluster/worker');
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, { unit: 's', description });
  const m = {
    embedding: seconds(
      'media_cluster_embedding_duration_seconds',
      'Time to decode and embed the photos of one job',
    ),
    clustering: seconds(
      'media_cluster_clustering_duration_seconds',
      'Time to cluster the embeddings of one job',
    ),
    postgresWrite: seconds(
      'media_cluster_postgres_write_seconds',
      'Time of the result transaction of one job',
    ),
    webhookDelivery: seconds(
      'media_cluster_webhook_delivery_seconds',
      'Time to deliver one webhook, retries included',
    ),
    webhookFailures: meter.createCounter('media_cluster_webhook_failures', {
      description: 'Webhook deliveries that failed after all attempts, by reason',
    }),
    photosProcessed: meter.createCounter('media_cluster_photos_processed', {
      description: 'Photos embedded',
    }),
    photosFailed: meter.createCounter('media_cluster_photos_failed', {
      description: 'Photos that could not be used, by reason',
    }),
    clustersPerJob: meter.createHistogram('media_cluster_clusters_per_job', {
      description: 'Clusters found per succeeded job',
      advice: { explicitBucketBoundaries: [1, 2, 3, 5, 8, 13, 21, 34, 50] },
    }),
  };
  m.photosProcessed.add(0);
  for (const reason of PHOTO_FAILURE_REASONS) m.photosFailed.add(0, { reason });
  for (const reason of WEBHOOK_FAILURE_REASONS) m.webhookFailures.add(0, { reason });
  return { ...m, modelVersion };
}
