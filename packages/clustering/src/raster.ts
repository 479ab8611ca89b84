import type { Raster } from './types.js';

/** A float image, channels interleaved, values in [0, 1]. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** 8-bit raster to floats in [0, 1]. */
export function toFloat(raster: Raster): FloatImage {
  const data = new Float32Array(raster.data.length);
  for (let i = 0; i < data.length; i++) data[i] = raster.data[i]! / 255;
  return { width: raster.width, height: raster.height, channels: raster.channels, data };
}

/** Rec. 601 luma of an RGB float image. */
export function toGray(img: FloatImage): FloatImage {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const data = new Float32Array(n);
  const src = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3)
    data[i] = 0.299 * src[j]! + 0.587 * src[j + 1]! + 0.114 * src[j + 2]!;
  return { width: img.width, height: img.height, channels: 1, data };
}

/** Horizontal mirror. */
export function mirror(img: FloatImage): FloatImage {
  const { width, height, channels } = img;
  const data = new Float32Array(img.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let x = 0; x < width; x++) {
      const from = row + x * channels;
      const to = row + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) data[to + c] = img.data[from + c]!;
    }
  }
  return { width, height, channels, data };
}

/**
 * Resizes with area averaging when shrinking (no aliasing, so texture statistics survive) and
 * bilinear interpolation when enlarging; separable, aspect ratio not kept.
 */
export function resize(img: FloatImage, width: number, height: number): FloatImage {
  if (img.width === width && img.height === height) return img;
  const ch = img.channels;
  const wx = axisWeights(img.width, width);
  const wy = axisWeights(img.height, height);
  // Horizontal pass: height rows of `width` pixels.
  const tmp = new Float32Array(img.height * width * ch);
  for (let y = 0; y < img.height; y++) {
    const srcRow = y * img.width * ch;
    const dstRow = y * width * ch;
    for (let x = 0; x < width; x++) {
      const taps = wx[x]!;
      for (let c = 0; c < ch; c++) {
        let acc = 0;
        for (let t = 0; t < taps.index.length; t++)
          acc += taps.weight[t]! * img.data[srcRow + taps.index[t]! * ch + c]!;
        tmp[dstRow + x * ch + c] = acc;
      }
    }
  }
  const data = new Float32Array(height * width * ch);
  const stride = width * ch;
  for (let y = 0; y < height; y++) {
    const taps = wy[y]!;
    const dstRow = y * stride;
    for (let t = 0; t < taps.index.length; t++) {
      const w = taps.weight[t]!;
      const srcRow = taps.index[t]! * stride;
      for (let i = 0; i < stride; i++) data[dstRow + i]! += w * tmp[srcRow + i]!;
    }
  }
  return { width, height, channels: ch, data };
}

interface Taps {
  index: Int32Array;
  weight: Float32Array;
}

function axisWeights(src: number, dst: number): Taps[] {
  const scale = src / dst;
  const out: Taps[] = [];
  for (let i = 0; i < dst; i++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale > 1) {
      const start = i * scale;
      const end = start + scale;
      for (let s = Math.floor(start); s < Math.ceil(end) && s < src; s++) {
        const cover = Math.min(end, s + 1) - Math.max(start, s);
        if (cover > 1e-6) {
          index.push(s);
          weight.push(cover / scale);
        }
      }
    } else {
      const centre = (i + 0.5) * scale - 0.5;
      const lo = Math.max(0, Math.min(src - 1, Math.floor(centre)));
      const hi = Math.min(src - 1, lo + 1);
      const f = Math.max(0, Math.min(1, centre - lo));
      index.push(lo);
      weight.push(hi === lo ? 1 : 1 - f);
      if (hi !== lo) {
        index.push(hi);
        weight.push(f);
      }
    }
    out.push({ index: Int32Array.from(index), weight: Float32Array.from(weight) });
  }
  return out;
}
