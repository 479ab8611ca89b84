/** The photo formats accepted, told apart by their magic bytes (never by a file name or a Content-Type). */
export const PHOTO_FORMATS = ['jpeg', 'png', 'webp'] as const;

export type PhotoFormat = (typeof PHOTO_FORMATS)[number];

/** The media type each accepted format is stored and served as. */
export const CONTENT_TYPES = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
} as const satisfies Record<PhotoFormat, `image/${string}`>;

export type PhotoContentType = (typeof CONTENT_TYPES)[PhotoFormat];
