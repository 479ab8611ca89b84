import type { PhotoFormat } from '@media-cluster/photo';

/** An 8-bit raster, rows top to bottom, channels interleaved. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/**
 * A photo decoded once for every consumer (embedders, quality): upright (EXIF orientation applied),
 * alpha flattened onto white, 8-bit sRGB, downscaled so memory per photo is bounded.
 */
export interface DecodedImage {
  /** Upright width of the original, in pixels. */
  readonly width: number;
  /** Upright height of the original, in pixels. */
  readonly height: number;
  readonly format: PhotoFormat;
  /** sRGB pixels, aspect ratio kept, longest side at most {@link WORK_SIZE} (never enlarged). */
  readonly rgb: Raster;
}

/** Per-photo quality used to pick each cluster's hero; every part is in [0, 1] except `laplacianVariance`. */
export interface QualityScore {
  /** Variance of the Laplacian of the grey working image (higher = sharper; scale-dependent, raw). */
  readonly laplacianVariance: number;
  /** `laplacianVariance` mapped to [0, 1]. */
  readonly sharpness: number;
  /** 1 for a well-exposed histogram, towards 0 when clipped dark/bright or flat. */
  readonly exposure: number;
  /** log-scaled megapixels of the original, 1 at >= 12 Mpx. */
  readonly resolution: number;
  /** Weighted blend of the above, in [0, 1]. */
  readonly overall: number;
}

/** Turns a decoded photo into a vector; similar photos get a small cosine distance. */
export interface Embedder {
  /** Identifies the model and its preprocessing; label value of `embedding_duration_seconds`. */
  readonly modelVersion: string;
  /**
   * Cosine-distance threshold tuned for this embedder on the labelled set: pass it as
   * `cluster(…, { threshold })` when not using the default embedder. Set by this package's embedders.
   */
  readonly clusterThreshold?: number;
  embed(image: DecodedImage): Promise<Float32Array> | Float32Array;
  /** Frees native/WASM memory, if any. */
  dispose?(): void;
}

export interface EmbeddingInput {
  readonly id: string;
  readonly vector: Float32Array;
}

export interface Group {
  ids: string[];
}

export interface HeroGroup {
  heroId: string;
  ids: string[];
}
