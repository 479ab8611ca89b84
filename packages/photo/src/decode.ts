import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { PhotoRejectedError } from './errors.js';
import type { PhotoContentType, PhotoFormat } from './formats.js';
import { PHOTO_LIMITS } from './limits.js';
import { sniffPhoto } from './sniff.js';

/**
 * The one decode policy, for the api's admission check and the worker's decode alike, so a photo
 * the api accepts is one the worker can read:
 * - `failOn: 'truncated'`: a cut-off file is corrupt, but the minor libjpeg/libpng warnings that
 *   many cameras and editors trigger (and every viewer ignores) are not. sharp's default,
 *   `'warning'`, would refuse those.
 * - `autoOrient`: pixels and sizes are upright (EXIF orientation applied), never as stored.
 */
export const DECODE_POLICY = { failOn: 'truncated', autoOrient: true } as const satisfies SharpOptions;

export interface AdmissionOptions {
  /**
   * Largest upright width x height accepted, checked from the header before any pixel is decoded.
   * @defaultValue PHOTO_LIMITS.maxPixels (40 Mpx)
   */
  maxPixels?: number;
}

/** What the header says, upright. */
export interface PhotoHeader {
  format: PhotoFormat;
  contentType: PhotoContentType;
  /** Displayed width (EXIF orientation 5-8 swaps the stored width and height). */
  width: number;
  height: number;
}

export interface RasterOptions extends AdmissionOptions {
  /** Longest side of the decoded raster, in pixels (never enlarged). */
  maxSide: number;
}

/** A photo decoded upright into 8-bit sRGB, alpha flattened onto white, at most `maxSide` px long. */
export interface DecodedPhoto extends PhotoHeader {
  rgb: { width: number; height: number; channels: 3; data: Uint8Array };
}

/**
 * Cheapest checks first, no pixel decoded: empty -> magic bytes -> header readable and of the
 * sniffed format -> upright width x height within `maxPixels` (decompression bombs stop here).
 * @throws PhotoRejectedError `empty`, `unsupported_type`, `corrupt` or `too_large_dimensions`.
 */
export async function readPhotoHeader(bytes: Buffer, options: AdmissionOptions = {}): Promise<PhotoHeader> {
  const maxPixels = options.maxPixels ?? PHOTO_LIMITS.maxPixels;
  if (bytes.length === 0) throw new PhotoRejectedError('empty', 'The file has no bytes');
  const sniffed = sniffPhoto(bytes);
  if (!sniffed.accepted) {
    const what = sniffed.detected ? `looks like ${sniffed.detected}` : 'is not an image we recognise';
    throw new PhotoRejectedError(
      'unsupported_type',
      `The file ${what}; only JPEG, PNG and WebP photos are accepted`,
      { details: { detectedType: sniffed.detected } },
    );
  }
  const { format, contentType } = sniffed;

  let meta: Metadata;
  try {
    // Header only, no pixel limit: a bomb's size is read and reported, not decoded.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new PhotoRejectedError('corrupt', `The ${format} header could not be read (${firstLine(cause)})`, {
      cause,
    });
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (meta.format !== format || !width || !height) {
    throw new PhotoRejectedError('corrupt', `The file starts like ${format} but does not parse as one`);
  }
  if (width * height > maxPixels) {
    throw new PhotoRejectedError(
      'too_large_dimensions',
      `The image is ${width}x${height} (${width * height} pixels); the limit is ${maxPixels}`,
      { details: { width, height, maxPixels } },
    );
  }
  return { format, contentType, width, height };
}

/**
 * {@link readPhotoHeader}, then every byte through the decoder under {@link DECODE_POLICY}:
 * shrunk while decoding (JPEG DCT scaling, so memory stays near maxSide² whatever the original),
 * flattened onto white, converted to 8-bit sRGB (CMYK, 16-bit and grey included).
 * @throws PhotoRejectedError as readPhotoHeader, and `corrupt` for truncated or garbled pixel data.
 */
export async function decodePhotoRaster(bytes: Buffer, options: RasterOptions): Promise<DecodedPhoto> {
  const header = await readPhotoHeader(bytes, options);
  const maxPixels = options.maxPixels ?? PHOTO_LIMITS.maxPixels;
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, { limitInputPixels: maxPixels, ...DECODE_POLICY })
      .resize(options.maxSide, options.maxSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new PhotoRejectedError(
      'corrupt',
      `The ${header.format} data is truncated or damaged (${firstLine(cause)})`,
      { cause },
    );
  }
  const { data, info } = decoded;
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return {
    ...header,
    rgb: { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) },
  };
}

/**
 * Longest side the admission check decodes to: 32 px. Every byte still goes through the decoder
 * (so truncated and garbled files are caught) at a fraction of a full decode's time and memory.
 */
const ADMISSION_SIDE = 32;

/**
 * Whether bytes are a photo the pipeline can use: the api's upload check. The same header checks
 * and decode policy as {@link decodePhotoRaster}, at thumbnail size.
 * @throws PhotoRejectedError `empty`, `unsupported_type`, `corrupt` or `too_large_dimensions`.
 */
export async function admitPhoto(bytes: Buffer, options: AdmissionOptions = {}): Promise<PhotoHeader> {
  const { format, contentType, width, height } = await decodePhotoRaster(bytes, {
    ...options,
    maxSide: ADMISSION_SIDE,
  });
  return { format, contentType, width, height };
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
