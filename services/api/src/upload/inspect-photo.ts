import type { PhotoContentType } from '@media-cluster/db';
import sharp, { type Metadata } from 'sharp';
import { ApiError } from '../errors.js';
import { sniffType } from './sniff-type.js';

export interface InspectedPhoto {
  contentType: PhotoContentType;
  /** Displayed size: EXIF orientation 5-8 swaps the stored width and height. */
  width: number;
  height: number;
}

export interface InspectOptions {
  /** Largest width x height accepted, checked from the header before any decode. */
  maxPixels: number;
  /** For messages: which file of the request. */
  extras: Record<string, unknown>;
}

/**
 * Decides whether bytes are an acceptable photo, cheapest check first:
 * empty -> magic bytes -> header dimensions (no decode; stops decompression
 * bombs) -> a small decode with a pixel limit (truncated or garbled data).
 * Throws ApiError with code empty | unsupported_type | too_large_dimensions | corrupt.
 */
export async function inspectPhoto(data: Buffer, options: InspectOptions): Promise<InspectedPhoto> {
  const { extras, maxPixels } = options;
  if (data.length === 0)
    throw new ApiError('empty', 'The file has no bytes', { extras: { ...extras, reason: 'empty' } });

  const sniffed = sniffType(data.subarray(0, 512));
  if (!sniffed.accepted) {
    const what = sniffed.detected ? `looks like ${sniffed.detected}` : 'is not an image we recognise';
    throw new ApiError('unsupported_type', `The file ${what}; only JPEG, PNG and WebP photos are accepted`, {
      extras: { ...extras, reason: 'unsupported_type', detectedType: sniffed.detected },
    });
  }

  const corrupt = (detail: string, cause?: unknown) =>
    new ApiError('corrupt', detail, { extras: { ...extras, reason: 'corrupt' }, cause });

  let meta: Metadata;
  try {
    // Header only: no pixel limit here, so a bomb's size is read and reported, not decoded.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw corrupt('The image header could not be read', error);
  }
  if (meta.format !== sniffed.format || !meta.width || !meta.height) {
    throw corrupt(`The file starts like ${sniffed.format} but does not parse as one`);
  }
  if (meta.width * meta.height > maxPixels) {
    throw new ApiError(
      'too_large_dimensions',
      `The image is ${meta.width}x${meta.height} (${meta.width * meta.height} pixels); the limit is ${maxPixels}`,
      {
        extras: {
          ...extras,
          reason: 'too_large_dimensions',
          width: meta.width,
          height: meta.height,
          maxPixels,
        },
      },
    );
  }

  try {
    // A full pass over the compressed data at thumbnail size: catches truncated and
    // garbled files (libvips fails on decoder warnings by default) at a fraction of a full decode.
    await sharp(data, { limitInputPixels: maxPixels, sequentialRead: true })
      .resize(32, 32, { fit: 'inside' })
      .raw()
      .toBuffer();
  } catch (error) {
    throw corrupt('The image data is truncated or damaged', error);
  }

  const swapped = (meta.orientation ?? 1) >= 5;
  return {
    contentType: sniffed.contentType,
    width: swapped ? meta.height : meta.width,
    height: swapped ? meta.width : meta.height,
  };
}
