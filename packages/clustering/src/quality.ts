import { toFloat, toGray } from './raster.js';
import type { DecodedImage, QualityScore } from './types.js';

/** Laplacian variance that maps to sharpness 0.5 (grey in [0, 1], on the <= 256 px working image). */
const SHARPNESS_HALF = 0.01;
/** Pixel count that maps to resolution 1: 12 Mpx. */
const FULL_RESOLUTION = 12_000_000;

/**
 * Sharpness (variance of the 4-neighbour Laplacian), exposure (clipping, mean level, flatness) and
 * resolution of a decoded photo. Sharpness is measured on the working image (longest side <= 256 px), so
 * photos of one burst are compared at the same scale whatever their original size.
 */
export function scoreQuality(image: DecodedImage): QualityScore {
  const gray = toGray(toFloat(image.rgb));
  const { width, height, data } = gray;

  let lapSum = 0;
  let lapSq = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const lap = data[i - 1]! + data[i + 1]! + data[i - width]! + data[i + width]! - 4 * data[i]!;
      lapSum += lap;
      lapSq += lap * lap;
      count++;
    }
  }
  const laplacianVariance = count > 0 ? Math.max(0, lapSq / count - (lapSum / count) ** 2) : 0;
  const sharpness = laplacianVariance / (laplacianVariance + SHARPNESS_HALF);

  let sum = 0;
  let sq = 0;
  let clipped = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    sum += v;
    sq += v * v;
    if (v < 0.02 || v > 0.98) clipped++;
  }
  const n = Math.max(1, data.length);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  const clipping = Math.max(0, 1 - 2.5 * (clipped / n)); // 40 % clipped pixels -> 0
  const level = Math.max(0, 1 - 2.5 * Math.max(0, Math.abs(mean - 0.5) - 0.2)); // mean in [0.3, 0.7] -> 1
  const contrast = Math.min(1, std / 0.1); // a flat grey frame is not a good shot
  const exposure = clipping * level * contrast;

  const resolution = Math.min(1, Math.log1p(image.width * image.height) / Math.log1p(FULL_RESOLUTION));
  const overall = 0.6 * sharpness + 0.25 * exposure + 0.15 * resolution;
  return { laplacianVariance, sharpness, exposure, resolution, overall };
}
