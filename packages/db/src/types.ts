/** Job lifecycle: `queued -> running -> succeeded | failed -> (retry) running | dead_lettered`. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead_lettered';

export type PhotoContentType = 'image/jpeg' | 'image/png' | 'image/webp';

export interface Photo {
  id: string;
  petId: string;
  sha256: string;
  /** Displayed size (EXIF orientation applied). */
  width: number;
  height: number;
  bytes: number;
  contentType: PhotoContentType;
  createdAt: Date;
}

/** A photo to store; `id` and `createdAt` are assigned by the database. */
export type NewPhoto = Pick<Photo, 'sha256' | 'width' | 'height' | 'bytes' | 'contentType'>;

/** What the worker needs to load a photo's bytes and check them. */
export type JobPhoto = Pick<Photo, 'id' | 'sha256' | 'width' | 'height' | 'contentType'>;

/** `delivered`: a 2xx came back; `failed`: refused or given up for good. */
export type WebhookStatus = 'delivered' | 'failed';

export interface JobWebhook {
  /** null until settled (and always for a job without a callback). */
  status: WebhookStatus | null;
  /** POSTs made, summed over the runs that recorded an outcome. */
  attempts: number;
  /** Why it failed for good; null otherwise. */
  error: string | null;
  finishedAt: Date | null;
}

export interface Job {
  id: string;
  petId: string;
  owner: string;
  status: JobStatus;
  attempts: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  callbackUrl: string | null;
  /** The exact photos this job clusters, fixed at creation. */
  photoIds: string[];
  error: string | null;
  /** Trace id of the request that created the job (32 hex), when it was traced. */
  traceId: string | null;
  /** Delivery state of `callbackUrl` (internal: not part of the HTTP API). */
  webhook: JobWebhook;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** One cluster of a job's result, as the worker hands it over. */
export interface ClusterInput {
  heroPhotoId: string;
  /** Every member, the hero included. */
  photoIds: string[];
}

export interface Cluster {
  /** Position of the cluster in the job's result (0-based). */
  clusterId: number;
  heroPhotoId: string;
  photoIds: string[];
  size: number;
}

export interface ClusteringResult {
  jobId: string;
  finishedAt: Date;
  clusters: Cluster[];
}
