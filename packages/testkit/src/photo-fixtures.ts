import { fileURLToPath } from 'node:url';

/**
 * The labelled photo set shipped in this package (`fixtures/photos`, with its
 * licences), or `PHOTOS_DIR` when set. Same path from `src/` and `dist/`.
 */
export const PHOTO_FIXTURES_DIR: string =
  process.env.PHOTOS_DIR ?? fileURLToPath(new URL('../fixtures/photos/', import.meta.url));
