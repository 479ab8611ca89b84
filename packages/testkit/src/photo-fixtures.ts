import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The labelled photo set shipped in this package (`fixtures/photos`, with its
 * licences), or `PHOTOS_DIR` when set. Same path from `src/` and `dist/`.
 */
export const PHOTO_FIXTURES_DIR: string =
  process.env.PHOTOS_DIR ?? fileURLToPath(new URL('../fixtures/photos/', import.meta.url));

/** One file of the bad-upload corpus (`bad/manifest.json`): the decision every admission path must make. */
export interface BadUploadEntry {
  /** Relative to {@link PHOTO_FIXTURES_DIR}, e.g. `bad/truncated.jpg`. */
  file: string;
  expect: 'accept' | 'reject';
  /** The rejection reason (a `@media-cluster/photo` reason code), null when accepted. */
  reason: string | null;
  /** What the leading magic bytes say. */
  detected_type: string | null;
  bytes: number;
  sha256: string;
  note: string;
  /** Accepted files: the upright size after EXIF orientation. */
  width?: number;
  height?: number;
}

/** Reads a fixture's bytes and fails loudly if they are not the ones its manifest describes. */
export function readPhotoFixture(entry: { file: string; sha256: string }): Buffer {
  const path = join(PHOTO_FIXTURES_DIR, entry.file);
  if (!existsSync(path)) throw new Error(`test photo missing: ${path} (set PHOTOS_DIR)`);
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256)
    throw new Error(`fixture changed: ${entry.file} has sha256 ${sha}, manifest says ${entry.sha256}`);
  return bytes;
}

/** A manifest of the photo fixtures (`clusters/manifest.json`, `bad/manifest.json`), parsed. */
export function readPhotoManifest<T>(relative: string): T {
  const path = join(PHOTO_FIXTURES_DIR, relative);
  if (!existsSync(path)) throw new Error(`test photos missing: ${path} (set PHOTOS_DIR)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The bad-upload corpus: every upload edge case with its expected decision (`bad/manifest.json`). */
export function badUploadCorpus(): BadUploadEntry[] {
  return readPhotoManifest<{ files: BadUploadEntry[] }>('bad/manifest.json').files;
}
