import { admitPhoto, type PhotoContentType, PhotoRejectedError } from '@media-cluster/photo';
import { ApiError } from '../errors.js';

export interface InspectedPhoto {
  contentType: PhotoContentType;
  /** Displayed size (EXIF orientation applied). */
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
 * Whether an uploaded file is a photo the worker will be able to use: the
 * admission rules of `@media-cluster/photo` (the worker decodes with the same
 * ones), with a rejection turned into a problem naming the file and the reason.
 * @throws ApiError `empty` | `unsupported_type` | `too_large_dimensions` | `corrupt`.
 */
export async function inspectPhoto(data: Buffer, options: InspectOptions): Promise<InspectedPhoto> {
  try {
    const { contentType, width, height } = await admitPhoto(data, { maxPixels: options.maxPixels });
    return { contentType, width, height };
  } catch (error) {
    if (!(error instanceof PhotoRejectedError)) throw error;
    throw new ApiError(error.reason, error.message, {
      extras: { ...options.extras, reason: error.reason, ...error.details },
      cause: error,
    });
  }
}
