import { PhotoRejectedError } from '@media-cluster/photo';
import { cluster } from './cluster.js';
import type { EmbedderPool, ProcessedPhoto } from './embedder-pool.js';
import { selectHeroes } from './select-heroes.js';
import type { HeroGroup, QualityScore } from './types.js';

export interface PhotoInput {
  id: string;
  bytes: Uint8Array;
}

export interface ClusterPhotosResult {
  clusters: HeroGroup[];
  /** Photos that could not be decoded, with the decoder's reason; the others were clustered. */
  failed: { id: string; reason: PhotoRejectedError['reason']; message: string }[];
  /** Per-photo results for the photos that were embedded; `ms` includes waiting for a free thread. */
  photos: Map<string, ProcessedPhoto & { ms: number }>;
  timings: { embedMs: number; clusterMs: number; selectHeroesMs: number };
}

/**
 * The whole clustering stage for one job: embed every photo on the pool (at most `concurrency` at
 * once), cluster with the pool's tuned threshold, pick heroes. A photo that cannot be decoded
 * fails alone; a pool failure (EmbedderPoolError) rejects the whole call.
 */
export async function clusterPhotos(
  pool: EmbedderPool,
  photos: readonly PhotoInput[],
  opts: { concurrency?: number } = {},
): Promise<ClusterPhotosResult> {
  const concurrency = Math.max(1, opts.concurrency ?? pool.size * 2);
  const embedded: { id: string; vector: Float32Array }[] = [];
  const quality = new Map<string, QualityScore>();
  const failed: ClusterPhotosResult['failed'] = [];
  const details: ClusterPhotosResult['photos'] = new Map();

  let t = performance.now();
  let next = 0;
  const run = async (): Promise<void> => {
    for (let i = next++; i < photos.length; i = next++) {
      const photo = photos[i]!;
      const started = performance.now();
      try {
        const r = await pool.process(photo.bytes);
        embedded.push({ id: photo.id, vector: r.vector });
        quality.set(photo.id, r.quality);
        details.set(photo.id, { ...r, ms: performance.now() - started });
      } catch (error) {
        if (!(error instanceof PhotoRejectedError)) throw error;
        failed.push({ id: photo.id, reason: error.reason, message: error.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, photos.length) }, run));
  const embedMs = performance.now() - t;

  t = performance.now();
  const groups = cluster(embedded, { threshold: pool.clusterThreshold });
  const clusterMs = performance.now() - t;

  t = performance.now();
  const clusters = selectHeroes(groups, quality);
  const selectHeroesMs = performance.now() - t;

  failed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { clusters, failed, photos: details, timings: { embedMs, clusterMs, selectHeroesMs } };
}
