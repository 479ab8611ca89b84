import type { FloatImage } from './raster.js';

// Feature blocks of the classical embedder. Every block is invariant to a horizontal flip
// (symmetric cells, direction-free gradients, |odd DCT terms|) and mostly insensitive to tone
// shifts (hue weighted by saturated chroma, gradients normalised per image, DCT without DC).

/** Adds `weight` to two neighbouring bins of `hist` for a value already scaled to bin units. */
function softBin(
  hist: Float32Array,
  offset: number,
  bins: number,
  pos: number,
  weight: number,
  wrap: boolean,
) {
  const p = pos - 0.5;
  let lo = Math.floor(p);
  const f = p - lo;
  let hi = lo + 1;
  if (wrap) {
    lo = (lo + bins) % bins;
    hi = hi % bins;
  } else {
    lo = Math.max(0, Math.min(bins - 1, lo));
    hi = Math.max(0, Math.min(bins - 1, hi));
  }
  hist[offset + lo]! += weight * (1 - f);
  hist[offset + hi]! += weight * f;
}

const HUE_BINS = 12;
/** Hue bins + one "grey" bin, per cell: global, then 3 rows x (centre, sides). */
const COLOUR_CELL = HUE_BINS + 1;
const COLOUR_CELLS = 7;

/**
 * Chroma-weighted hue histogram plus an achromatic bin, globally and in 6 mirror-symmetric cells.
 * @returns COLOUR_CELLS blocks of COLOUR_CELL bins, each block summing to 1.
 */
export function colourHistogram(rgb: FloatImage): Float32Array {
  const { width, height, data } = rgb;
  const hist = new Float32Array(COLOUR_CELLS * COLOUR_CELL);
  for (let y = 0; y < height; y++) {
    const row = Math.min(2, Math.floor((3 * y) / height));
    for (let x = 0; x < width; x++) {
      const xr = (x + 0.5) / width;
      const side = xr < 0.25 || xr >= 0.75 ? 1 : 0;
      const cell = 1 + row * 2 + side;
      const i = (y * width + x) * 3;
      const r = data[i]!;
      const g = data[i + 1]!;
      const b = data[i + 2]!;
      const max = Math.max(r, g, b);
      const min = Math.min(r, g, b);
      const chroma = max - min;
      let hue = 0;
      if (chroma > 1e-6) {
        if (max === r) hue = ((g - b) / chroma + 6) % 6;
        else if (max === g) hue = (b - r) / chroma + 2;
        else hue = (r - g) / chroma + 4;
      }
      // Chroma saturates quickly so that a +-20 % saturation change barely moves mass to grey.
      const colourful = Math.min(1, chroma * 4);
      for (const c of [0, cell]) {
        softBin(hist, c * COLOUR_CELL, HUE_BINS, (hue / 6) * HUE_BINS, colourful, true);
        hist[c * COLOUR_CELL + HUE_BINS]! += 1 - colourful;
      }
    }
  }
  normaliseBlocks(hist, COLOUR_CELL);
  return hist;
}

const MAGNITUDE_BINS = 6;

/**
 * Sobel gradient statistics of a grey image: a histogram of magnitudes relative to their mean (how
 * sparse the edges are), and the mean magnitude relative to the image's standard deviation (how much
 * of the contrast sits at this scale). Both ignore direction, so mirroring and small rotations
 * do not move them, and both are normalised, so brightness/contrast changes do not either.
 */
export function gradientFeatures(gray: FloatImage): { magnitude: Float32Array; energy: number } {
  const { width, height, data } = gray;
  const n = Math.max(1, (width - 2) * (height - 2));
  const mags = new Float32Array(n);
  let k = 0;
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const gx =
        data[i - width + 1]! +
        2 * data[i + 1]! +
        data[i + width + 1]! -
        data[i - width - 1]! -
        2 * data[i - 1]! -
        data[i + width - 1]!;
      const gy =
        data[i + width - 1]! +
        2 * data[i + width]! +
        data[i + width + 1]! -
        data[i - width - 1]! -
        2 * data[i - width]! -
        data[i - width + 1]!;
      const m = Math.hypot(gx, gy);
      mags[k++] = m;
      sum += m;
    }
  }
  const meanMag = sum / n;
  const magnitude = new Float32Array(MAGNITUDE_BINS);
  if (meanMag > 1e-6) {
    for (let i = 0; i < k; i++) softBin(magnitude, 0, MAGNITUDE_BINS, (mags[i]! / meanMag) * 2, 1, false);
  }
  normaliseBlocks(magnitude, MAGNITUDE_BINS);
  const { std } = meanStd(data);
  return { magnitude, energy: meanMag / (8 * std) };
}

/** Perceptual-hash coefficients: 8x8 lowest DCT terms minus DC, |.| where a mirror flips the sign. */
export function dctSignature(coefficients: Float32Array, keep: number): Float32Array {
  const out = new Float32Array(keep * keep - 1);
  let k = 0;
  for (let v = 0; v < keep; v++) {
    for (let u = 0; u < keep; u++) {
      if (u === 0 && v === 0) continue;
      const c = coefficients[v * keep + u]!;
      out[k++] = u % 2 === 1 ? Math.abs(c) : c;
    }
  }
  return out;
}

function meanStd(data: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  const mean = sum / Math.max(1, data.length);
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i]! - mean) ** 2;
  return { mean, std: Math.max(1e-3, Math.sqrt(sq / Math.max(1, data.length))) };
}

/** Makes each consecutive block of `size` sum to 1 (left at 0 when empty). */
function normaliseBlocks(hist: Float32Array, size: number): void {
  for (let o = 0; o < hist.length; o += size) {
    let s = 0;
    for (let i = o; i < o + size; i++) s += hist[i]!;
    if (s > 0) for (let i = o; i < o + size; i++) hist[i]! /= s;
  }
}
