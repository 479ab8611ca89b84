/**
 * Why a photo is refused. Stable: the api answers them as problem `type`s (and
 * `reason`), and the worker counts them as `media_cluster_photos_failed{reason}`
 * label values, so renaming one breaks clients and dashboards.
 */
export const PHOTO_REJECTION_REASONS = [
  'corrupt',
  'unsupported_type',
  'too_large_dimensions',
  'empty',
] as const;

export type PhotoRejectionReason = (typeof PHOTO_REJECTION_REASONS)[number];

/** What a rejection knows besides its reason: safe to show the uploader (no bytes, no file names). */
export interface PhotoRejectionDetails {
  /** `unsupported_type`: what the leading bytes look like (`gif`, `svg`, `html`, ...), or null. */
  detectedType?: string | null;
  /** `too_large_dimensions`: the upright size read from the header, and the limit. */
  width?: number;
  height?: number;
  maxPixels?: number;
}

/** Stable error code of this package (`PHOTO_*`, like every package's `<PACKAGE>_*` codes). */
export type PhotoErrorCode = 'PHOTO_REJECTED';

/**
 * One photo cannot be admitted (an upload is refused; in a job, that photo
 * alone fails). `reason` says why, in the words clients and dashboards see.
 */
export class PhotoRejectedError extends Error {
  readonly code: PhotoErrorCode = 'PHOTO_REJECTED';
  readonly reason: PhotoRejectionReason;
  readonly details: PhotoRejectionDetails;

  constructor(
    reason: PhotoRejectionReason,
    message: string,
    options: { details?: PhotoRejectionDetails; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PhotoRejectedError';
    this.reason = reason;
    this.details = options.details ?? {};
  }
}

/** True for a reason this package defines (e.g. a code that crossed a thread as a string). */
export function isPhotoRejectionReason(value: unknown): value is PhotoRejectionReason {
  return (PHOTO_REJECTION_REASONS as readonly unknown[]).includes(value);
}
