import { decodePhotoRaster, PHOTO_LIMITS } from '@media-cluster/photo';
import type { DecodedImage } from './types.js';

/** Longest side of {@link DecodedImage.rgb}: enough for a 224 px CNN input and a stable sharpness measure. */
export const WORK_SIZE = 256;

export interface DecodeOptions {
  /**
   * Largest original (upright width x height) accepted; larger ones are rejected from their header,
   * before any pixel is decoded (decompression bombs).
   * @defaultValue PHOTO_LIMITS.maxPixels (40 Mpx)
   */
  maxPixels?: number;
}

/**
 * Decodes JPEG/PNG/WebP bytes into a small upright sRGB raster, with the admission checks and decode
 * policy of `@media-cluster/photo` (the ones the api admitted the upload with). JPEGs are shrunk while
 * decoding (libjpeg DCT scaling), so memory per photo stays near WORK_SIZE² whatever the original size.
 * @throws PhotoRejectedError `empty`, `unsupported_type`, `too_large_dimensions` or `corrupt`.
 */
export async function decodePhoto(bytes: Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const { width, height, format, rgb } = await decodePhotoRaster(bytes, {
    maxPixels: opts.maxPixels ?? PHOTO_LIMITS.maxPixels,
    maxSide: WORK_SIZE,
  });
  return { width, height, format, rgb };
}
