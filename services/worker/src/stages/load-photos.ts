import type { BlobStore } from '@media-cluster/db';

export interface PhotoRef {
  id: string;
  sha256: string;
}

/** Thrown by `readPhoto` when the blob is not in the store: that photo fails alone. */
export class MissingBlobError extends Error {
  /** The `media_cluster_photos_failed` reason, like a `PhotoRejectedError`'s. */
  readonly reason = 'missing_blob';
}

/**
 * Reads one photo's bytes from the blob store. Called per photo as it is
 * embedded (never for the whole job at once), so a job holds at most its
 * embed concurrency's worth of photo bytes.
 */
export async function readPhoto(blobs: BlobStore, photo: PhotoRef): Promise<Buffer> {
  try {
    return await blobs.get(photo.sha256);
  } catch (error) {
    throw new MissingBlobError(`blob of photo ${photo.id} is missing`, { cause: error });
  }
}
