// Postgres schema, migrations and queries, and the photo blob store.
// Every function takes its pool/client as the first argument (no globals);
// table names are unqualified, so `search_path` picks the schema.

export { type BlobStore, createFsBlobStore, type FsBlobStoreOptions } from './blob-store.js';
export { DbError, type DbErrorCode, isDbError, isDbUnavailable } from './errors.js';
export { isUuid } from './ids.js';
export {
  type CreateJobResult,
  createJob,
  deleteQueuedJob,
  type JobAttempt,
  type MarkFailedOptions,
  markJobFailed,
  markJobRunning,
  type NewJob,
  type RunningJob,
  recordWebhookOutcome,
  saveJobResult,
  startJobAttempt,
  type WebhookOutcome,
} from './job-writes.js';
export { getJob } from './jobs.js';
export {
  listMigrations,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
  migrationsApplied,
} from './migrate.js';
export { ensurePetOwner, getPetOwner, type PetOwnership } from './pets.js';
export {
  countPhotos,
  getPhotos,
  getPhotosForJob,
  insertPhotos,
  listPhotoIds,
  type StoredPhoto,
} from './photos.js';
export { createPool, type PoolOptions } from './pool.js';
export { type DbLogger, type Queryable, withTransaction } from './queryable.js';
export { getJobClusters, getLatestClusters } from './results.js';
export type {
  Cluster,
  ClusterInput,
  ClusteringResult,
  Job,
  JobPhoto,
  JobStatus,
  JobWebhook,
  NewPhoto,
  Photo,
  PhotoContentType,
  WebhookStatus,
} from './types.js';
