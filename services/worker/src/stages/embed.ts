import {
  type EmbeddedPhoto,
  embedPhotos as embedOnPool,
  type PhotoFailure,
  type PhotoProcessor,
  type QualityScore,
} from '@media-cluster/clustering';
import { ATTR_PHOTO_ID, EVENT_PHOTO_EMBEDDED, EVENT_PHOTO_FAILED } from '@media-cluster/semconv';
import type { Span } from '@opentelemetry/api';
import type { PhotoRef } from './load-photos.js';

export type { EmbeddedPhoto, PhotoFailure };

export interface PhotoEmbedder
  extends PhotoProcessor<{ vector: Float32Array; quality: QualityScore; width: number; height: number }> {
  readonly modelVersion: string;
  /** The distance threshold this embedder's vectors cluster at. */
  readonly clusterThreshold?: number;
}

export interface EmbedOptions {
  /** Photos read and embedded at once (EMBED_CONCURRENCY). */
  concurrency: number;
  span: Span;
  /** Reads a photo's bytes; an error with a `reason` (e.g. `missing_blob`) fails that photo alone. */
  read(photo: PhotoRef): Promise<Buffer>;
}

/**
 * The `embed` stage: clustering's embedPhotos (bounded concurrency, bytes read
 * just in time, a bad photo fails alone) with one event per photo on the
 * stage's span (`photo.embedded` with its duration, or `photo.failed` with the
 * reason).
 */
export function embedPhotos(
  embedder: PhotoEmbedder,
  photos: readonly PhotoRef[],
  { concurrency, span, read }: EmbedOptions,
): Promise<{ embedded: EmbeddedPhoto[]; failed: PhotoFailure[] }> {
  return embedOnPool(embedder, photos, {
    concurrency,
    read,
    onEmbedded: (photo, _result, ms) =>
      span.addEvent(EVENT_PHOTO_EMBEDDED, { [ATTR_PHOTO_ID]: photo.id, duration_ms: Math.round(ms) }),
    onFailed: (photo, reason) => span.addEvent(EVENT_PHOTO_FAILED, { [ATTR_PHOTO_ID]: photo.id, reason }),
  });
}
