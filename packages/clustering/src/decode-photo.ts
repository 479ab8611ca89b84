import sharp, { type Metadata } from 'sharp';
import { PhotoDecodeError } from './errors.js';
import { sniffPhotoFormat } from './sniff-type.js';
import type { DecodedImage } from './types.js';

/** Longest side of {@link DecodedImage.rgb}: enough for a 224 px CNN input and a stable sharpness measure. */
export const WORK_SIZE = 256;

/** Default largest accepted original, in pixels: 40 Mpx (a 48 Mpx phone photo must be downscaled first). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface DecodeOptions {
  /**
   * Largest original (upright width x height) accepted; larger ones are rejected from their header,
   * before any pixel is decoded (decompression bombs).
   * @defaultValue 40_000_000 (40 Mpx)
   */
  maxPixels?: number;
}

/**
 * Decodes JPEG/PNG/WebP bytes (type from magic bytes) into a small upright sRGB raster.
 * JPEGs are shrunk while decoding (libjpeg DCT scaling), so memory per photo stays near
 * WORK_SIZE² whatever the original size.
 * @throws PhotoDecodeError `empty`, `unsupported_type`, `too_large_dimensions` or `corrupt`.
 */
export async function decodePhoto(bytes: Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new PhotoDecodeError('empty', 'the photo has no bytes');
  const format = sniffPhotoFormat(bytes);
  if (!format) {
    throw new PhotoDecodeError('unsupported_type', 'not a JPEG, PNG or WebP image (checked by magic bytes)');
  }

  let meta: Metadata;
  try {
    // Header only; the pixel limit is checked below with a clearer message.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new PhotoDecodeError('corrupt', `unreadable ${format} header: ${firstLine(cause)}`, { cause });
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new PhotoDecodeError('corrupt', `${format} header has no dimensions`);
  if (width * height > maxPixels) {
    throw new PhotoDecodeError(
      'too_large_dimensions',
      `${width}x${height} is ${width * height} pixels, more than the ${maxPixels} allowed`,
    );
  }

  try {
    // 'truncated': a cut-off file is corrupt, but the minor libjpeg/libpng warnings that many cameras
    // and editors trigger (and every viewer ignores) are not.
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .rotate() // EXIF orientation
      .resize(WORK_SIZE, WORK_SIZE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb') // CMYK, 16-bit and grey inputs all become 8-bit RGB
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return {
      width,
      height,
      format,
      rgb: { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) },
    };
  } catch (cause) {
    throw new PhotoDecodeError('corrupt', `cannot decode ${format} pixels: ${firstLine(cause)}`, { cause });
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
