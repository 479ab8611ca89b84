import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './stats.mjs';

/** The labelled photo set the benchmarks upload (testkit's fixtures; `PHOTOS_DIR` moves it). */
export const photosDir =
  process.env.PHOTOS_DIR ?? join(repoRoot, 'packages', 'testkit', 'fixtures', 'photos');

/** Every photo of the labelled set, in manifest order: `{ file, name, group, sha256, bytes }`. */
export function clusterPhotoFiles() {
  const manifest = JSON.parse(readFileSync(join(photosDir, 'clusters', 'manifest.json'), 'utf8'));
  return manifest.files.map((f) => ({
    ...f,
    name: f.file.split('/').pop(),
    bytes: readFileSync(join(photosDir, f.file)),
  }));
}
