import type { QualityScore } from './types.js';

/** What embedPhotos needs of an embedder: an EmbedderPool, or a stand-in in tests. */
export interface PhotoProcessor<R extends { vector: Float32Array; quality: QualityScore }> {
  /** `transfer`: the bytes are the processor's to keep (EmbedderPool moves them to its thread). */
  process(bytes: Buffer, options?: { transfer?: boolean }): Promise<R>;
}

export interface EmbeddedPhoto {
  id: string;
  vector: Float32Array;
  quality: QualityScore;
}

export interface PhotoFailure {
  id: string;
  /** The error's `reason` (a PhotoRejectedError's, `missing_blob` from a reader, ...), else `corrupt`. */
  reason: string;
}

export interface EmbedPhotosOptions<P extends { id: string }, R> {
  /** Photos read and embedded at once (the worker's EMBED_CONCURRENCY). */
  concurrency: number;
  /** Reads a photo's bytes; an error (with a `reason`, e.g. `missing_blob`) fails that photo alone. */
  read(photo: P): Promise<Buffer>;
  /** Called once per embedded photo with the processor's result and the ms since its read began. */
  onEmbedded?(photo: P, result: R, ms: number): void;
  /** Called once per failed photo. */
  onFailed?(photo: P, reason: string, error: unknown): void;
}

/**
 * The embed stage of a job, as the worker runs it: reads, decodes and embeds
 * the photos, at most `concurrency` at once. Each photo's bytes are read just
 * before it is embedded and dropped right after, so a job holds at most
 * `concurrency` photos' bytes and decoded rasters at a time, however many
 * photos it has; what stays is one vector and quality score per photo. A
 * photo that cannot be read or decoded fails alone, with the reason. The
 * embedded photos come back sorted by id, so clustering does not depend on
 * completion order.
 */
export async function embedPhotos<
  P extends { id: string },
  R extends { vector: Float32Array; quality: QualityScore },
>(
  processor: PhotoProcessor<R>,
  photos: readonly P[],
  { concurrency, read, onEmbedded, onFailed }: EmbedPhotosOptions<P, R>,
): Promise<{ embedded: EmbeddedPhoto[]; failed: PhotoFailure[] }> {
  const embedded: EmbeddedPhoto[] = [];
  const failed: PhotoFailure[] = [];
  let next = 0;
  const runOne = async (): Promise<void> => {
    for (let i = next++; i < photos.length; i = next++) {
      const photo = photos[i]!;
      const started = performance.now();
      try {
        // The bytes are not used again here: the pool may take them instead of copying them.
        const result = await processor.process(await read(photo), { transfer: true });
        embedded.push({ id: photo.id, vector: result.vector, quality: result.quality });
        onEmbedded?.(photo, result, performance.now() - started);
      } catch (error) {
        const reason = (error as { reason?: string }).reason ?? 'corrupt';
        failed.push({ id: photo.id, reason });
        onFailed?.(photo, reason, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), photos.length) }, runOne));
  embedded.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { embedded, failed };
}
