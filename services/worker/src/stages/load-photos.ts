import type { BlobStore } from '@media-cluster/db';

export interface PhotoRef {
  id: string;
  sha256: string;
}

export interface LoadedPhoto {
  id: string;
  bytes: Buffer;
}

export interface PhotoFailure {
  id: string;
  reason: string;
}

/** Reads each photo's bytes from the blob store; a missing blob fails that photo only. */
export async function loadPhotos(
  blobs: BlobStore,
  photos: readonly PhotoRef[],
): Promise<{ loaded: LoadedPhoto[]; failed: PhotoFailure[] }> {
  const loaded: LoadedPhoto[] = [];
  const failed: PhotoFailure[] = [];
  await Promise.all(
    photos.map(async (photo) => {
      try {
        loaded.push({ id: photo.id, bytes: await blobs.get(photo.sha256) });
      } catch {
        failed.push({ id: photo.id, reason: 'missing_blob' });
      }
    }),
  );
  return { loaded, failed };
}
