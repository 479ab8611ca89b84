/** The worker's stage spans under the CONSUMER span (README, "Reading a trace"). */
export const SPAN_EMBED = 'embed';
export const SPAN_CLUSTER = 'cluster';
export const SPAN_SELECT_HEROES = 'select_heroes';
export const SPAN_POSTGRES_WRITE = 'postgres.write';
export type StageSpanName =
  | typeof SPAN_EMBED
  | typeof SPAN_CLUSTER
  | typeof SPAN_SELECT_HEROES
  | typeof SPAN_POSTGRES_WRITE;

/** Events on the `embed` span, one per photo. */
export const EVENT_PHOTO_EMBEDDED = 'photo.embedded';
export const EVENT_PHOTO_FAILED = 'photo.failed';

/** Events on the CONSUMER span. */
export const EVENT_REDELIVERED = 'media_cluster.redelivered';
export const EVENT_RETRY_SCHEDULED = 'media_cluster.retry_scheduled';
export const EVENT_DEAD_LETTERED = 'media_cluster.dead_lettered';
export const EVENT_OWNERSHIP_LOST = 'media_cluster.ownership_lost';
