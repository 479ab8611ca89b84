import { colourHistogram, dctSignature, gradientFeatures } from './classical-features.js';
import { dctLowFrequencies } from './dct.js';
import { resize, toFloat, toGray } from './raster.js';
import type { DecodedImage, Embedder } from './types.js';

/** Named feature blocks before weighting; histograms sum to 1 per block. */
export type ClassicalBlocks = Record<ClassicalBlockName, Float32Array>;

export type ClassicalBlockName = 'colour' | 'magnitude' | 'energy' | 'dct';

/**
 * Median pairwise cosine distance of each block alone over the labelled set (48 photos): the
 * blocks live on very different scales (Hellinger-mapped histograms sit close together).
 */
const TYPICAL_DISTANCE: Readonly<Record<ClassicalBlockName, number>> = {
  colour: 0.418,
  magnitude: 0.0247,
  energy: 0.0105,
  dct: 0.776,
};

/**
 * Weight of each block in the cosine distance (the final distance is the weighted mean of the
 * per-block cosine distances): equal importance once each is divided by its typical distance.
 * See README "Classical embedder" for the blocks that were measured and dropped.
 */
export const CLASSICAL_WEIGHTS: Readonly<Record<ClassicalBlockName, number>> = {
  colour: 1 / TYPICAL_DISTANCE.colour,
  magnitude: 1 / TYPICAL_DISTANCE.magnitude,
  energy: 1 / TYPICAL_DISTANCE.energy,
  dct: 1 / TYPICAL_DISTANCE.dct,
};

/** Computes every block of the classical embedding for one image. */
export function classicalBlocks(image: DecodedImage): ClassicalBlocks {
  const full = toFloat(image.rgb);
  const rgb64 = resize(full, 64, 64);
  const gray = toGray(full);
  const gray128 = resize(gray, 128, 128);
  const gray64 = resize(gray128, 64, 64);
  const gray32 = resize(gray64, 32, 32);

  const g128 = gradientFeatures(gray128);
  const g64 = gradientFeatures(gray64);
  const g32 = gradientFeatures(gray32);
  return {
    colour: colourHistogram(rgb64),
    magnitude: concat([g128.magnitude, g64.magnitude, g32.magnitude]),
    // Energy ratios between scales describe the texture's spectrum, independent of contrast;
    // the constant keeps the absolute level in the cosine.
    energy: Float32Array.from([g128.energy, g64.energy, g32.energy, 0.5]),
    dct: dctSignature(dctLowFrequencies(gray32.data, 32, 8), 8),
  };
}

/**
 * Histogram blocks get a Hellinger (square-root) map, every block is L2-normalised and scaled by
 * sqrt(weight), so the dot product of two unit embeddings is the weighted mean of the blocks' cosines.
 */
export function combineBlocks(
  blocks: ClassicalBlocks,
  weights: Readonly<Record<ClassicalBlockName, number>> = CLASSICAL_WEIGHTS,
): Float32Array {
  const names = Object.keys(weights) as ClassicalBlockName[];
  const total = names.reduce((s, n) => s + weights[n], 0);
  const parts: Float32Array[] = [];
  for (const name of names) {
    const w = weights[name];
    if (w <= 0) continue;
    const src = blocks[name];
    const isHistogram = name !== 'dct';
    const v = new Float32Array(src.length);
    let sq = 0;
    for (let i = 0; i < src.length; i++) {
      v[i] = isHistogram ? Math.sqrt(Math.max(0, src[i]!)) : src[i]!;
      sq += v[i]! * v[i]!;
    }
    const scale = sq > 0 ? Math.sqrt(w / total) / Math.sqrt(sq) : 0;
    for (let i = 0; i < v.length; i++) v[i]! *= scale;
    parts.push(v);
  }
  return concat(parts);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Version of the feature set; bump when features, weights or preprocessing change. */
export const CLASSICAL_MODEL_VERSION = 'classic-hist-dct-v1';

/**
 * Average-linkage threshold: the geometric middle of the range [0.00375, 0.00755] in which the
 * labelled set clusters perfectly (a 2x range, so ~1.4x headroom on either side).
 */
export const CLASSICAL_CLUSTER_THRESHOLD = 0.0053;

/**
 * Fast hand-made embedding: a chroma-weighted hue histogram (global + mirror-symmetric cells),
 * multi-scale gradient-magnitude statistics and a mirror-invariant DCT perceptual hash.
 */
export function createClassicalEmbedder(): Embedder {
  return {
    modelVersion: CLASSICAL_MODEL_VERSION,
    clusterThreshold: CLASSICAL_CLUSTER_THRESHOLD,
    embed: (image) => combineBlocks(classicalBlocks(image)),
  };
}
