import type { QualityScore } from '@media-cluster/clustering';
import type { Span } from '@opentelemetry/api';
import type { PhotoFailure, PhotoRef } from './load-photos.js';

export interface PhotoEmbedder {
  readonly modelVersion: string;
  /** The distance threshold this embedder's vectors cluster at. */
  readonly clusterThreshold?: number;
  process(
    bytes: Buffer,
  ): Promise<{ vector: Float32Array; quality: QualityScore; width: number; height: number }>;
}

export interface EmbeddedPhoto {
  id: string;
  vector: Float32Array;
  quality: QualityScore;
}

export interface EmbedOptions {
  /** Photos read and embedded at once (EMBED_CONCURRENCY). */
  concurrency: number;
  span: Span;
  /** Reads a photo's bytes; an error with a `reason` (e.g. `missing_blob`) fails that photo alone. */
  read(photo: PhotoRef): Promise<Buffer>;
}

/**
 * Reads, decodes and embeds the photos on the embedder's thread pool, at most
 * `concurrency` at once. Each photo's bytes are read just before it is
 * embedded and dropped right after, so a job holds at most `concurrency`
 * photos' bytes and decoded rasters at a time, however many photos it has;
 * what stays is one vector and quality score per photo. A photo that cannot
 * be read or decoded fails alone, with the reason; each photo leaves an event
 * on the `embed` span.
 */
export async function embedPhotos(
  embedder: PhotoEmbedder,
  photos: readonly PhotoRef[],
  { concurrency, span, read }: EmbedOptions,
): Promise<{ embedded: EmbeddedPhoto[]; failed: PhotoFailure[] }> {
  const embedded: EmbeddedPhoto[] = [];
  const failed: PhotoFailure[] = [];
  let next = 0;
  const runOne = async (): Promise<void> => {
    for (let i = next++; i < photos.length; i = next++) {
      const photo = photos[i]!;
      const started = performance.now();
      try {
        const { vector, quality } = await embedder.process(await read(photo));
        embedded.push({ id: photo.id, vector, quality });
        span.addEvent('photo.embedded', {
          'media_cluster.photo_id': photo.id,
          duration_ms: Math.round(performance.now() - started),
        });
      } catch (error) {
        // PhotoRejectedError and MissingBlobError say why; anything else is a photo we could not read.
        const reason = (error as { reason?: string }).reason ?? 'corrupt';
        failed.push({ id: photo.id, reason });
        span.addEvent('photo.failed', { 'media_cluster.photo_id': photo.id, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, photos.length) }, runOne));
  // Deterministic order for clustering regardless of completion order.
  embedded.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { embedded, failed };
}
