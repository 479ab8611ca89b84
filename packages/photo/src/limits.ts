/**
 * Default admission limits, shared by every service that admits or decodes
 * photos (the api's `MAX_PHOTO_BYTES` / `MAX_PIXELS` and the worker's `MAX_PIXELS`
 * default to these).
 */
export const PHOTO_LIMITS = {
  /** Largest photo file: 15 MiB. */
  maxBytes: 15 * 1024 * 1024,
  /**
   * Largest upright width x height, read from the header before a pixel is
   * decoded (decompression bombs): 40 Mpx, so a 48 Mpx phone photo must be
   * downscaled first.
   */
  maxPixels: 40_000_000,
} as const;
