/**
 * Span and log attribute names of our own (`media_cluster.*`). Standard names
 * (messaging, db, http) come from `@opentelemetry/semantic-conventions`.
 */
export const ATTR_JOB_ID = 'media_cluster.job_id';
export const ATTR_ATTEMPT = 'media_cluster.attempt';
export const ATTR_PHOTO_COUNT = 'media_cluster.photo_count';
export const ATTR_CLUSTER_COUNT = 'media_cluster.cluster_count';
export const ATTR_MODEL_VERSION = 'media_cluster.model_version';
/** Photos of the job that could not be used (on the `embed` span). */
export const ATTR_PHOTOS_FAILED = 'media_cluster.photos_failed';
/** A photo's id, on the `embed` span's per-photo events only (never a metric label). */
export const ATTR_PHOTO_ID = 'media_cluster.photo_id';
/** How many times Redis delivered this entry (1 on first delivery; more after a consumer died). */
export const ATTR_DELIVERY_COUNT = 'media_cluster.delivery_count';
export const ATTR_NEXT_ATTEMPT = 'media_cluster.next_attempt';
export const ATTR_RETRY_DELAY_MS = 'media_cluster.retry_delay_ms';
export const ATTR_DEAD_LETTER_REASON = 'media_cluster.dead_letter_reason';
export const ATTR_ERROR_MESSAGE = 'media_cluster.error';
