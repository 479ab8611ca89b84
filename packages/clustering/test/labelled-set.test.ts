import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adjustedRandIndex,
  cluster,
  createEmbedderPool,
  DEFAULT_EMBEDDER,
  type EmbedderPool,
  type HeroGroup,
  type ProcessedPhoto,
  selectHeroes,
} from '../src/index.js';
import { clusterManifest, readChecked, shuffled } from './photo-fixtures.js';

// The acceptance test: the default embedder on the 48-photo labelled set, through the same
// worker-thread pool the worker service uses.
describe(`default embedder (${DEFAULT_EMBEDDER}) on the labelled set`, () => {
  const manifest = clusterManifest();
  const truth = new Map(manifest.files.map((f) => [f.file, f.group]));
  let pool: EmbedderPool;
  const processed = new Map<string, ProcessedPhoto>();

  beforeAll(async () => {
    pool = createEmbedderPool({ embedder: 'default', size: 2 });
    const photos = manifest.files.map((f) => ({ id: f.file, bytes: readChecked(f) }));
    await Promise.all(photos.map(async (p) => processed.set(p.id, await pool.process(p.bytes))));
  });
  afterAll(() => pool?.close());

  const run = (order: string[]): HeroGroup[] => {
    const groups = cluster(
      order.map((id) => ({ id, vector: processed.get(id)!.vector })),
      { threshold: pool.clusterThreshold },
    );
    return selectHeroes(groups, new Map(order.map((id) => [id, processed.get(id)!.quality])));
  };

  it('reports the upright size of every photo', () => {
    for (const f of manifest.files)
      expect([f.file, processed.get(f.file)!.width, processed.get(f.file)!.height]).toEqual([
        f.file,
        f.width,
        f.height,
      ]);
  });

  it('clusters with ARI >= 0.95 against the manifest groups', () => {
    const result = run(manifest.files.map((f) => f.file));
    const ari = adjustedRandIndex(result, truth);
    expect(ari).toBeGreaterThanOrEqual(0.95);
    // grass and gravel look alike but are different scenes.
    const groupOf = (id: string) => result.find((g) => g.ids.includes(id))!;
    expect(groupOf('clusters/grass-01.jpg')).not.toBe(groupOf('clusters/gravel-01.jpg'));
  });

  it('never picks a non-hero (blurred) variant as a hero', () => {
    const result = run(manifest.files.map((f) => f.file));
    const notHero = new Set(Object.values(manifest.groups).flatMap((g) => g.not_hero.map((n) => n.file)));
    expect(notHero.size).toBe(Object.keys(manifest.groups).length);
    for (const group of result) expect(notHero.has(group.heroId), `hero ${group.heroId}`).toBe(false);
    // Each blurred shot scores lowest on sharpness within its group.
    for (const g of Object.values(manifest.groups)) {
      const blurred = g.not_hero[0]!.file;
      const others = g.files.filter((f) => f !== blurred);
      const sharpnessOf = (id: string) => processed.get(id)!.quality.laplacianVariance;
      expect(Math.max(...others.map((o) => sharpnessOf(blurred) / sharpnessOf(o)))).toBeLessThan(0.5);
    }
  });

  it('gives the same clusters and heroes for shuffled input', () => {
    const reference = run(manifest.files.map((f) => f.file));
    for (const seed of [1, 2, 3, 4, 5]) {
      expect(
        run(
          shuffled(
            manifest.files.map((f) => f.file),
            seed,
          ),
        ),
      ).toEqual(reference);
    }
  });

  it('gives the same vectors when the photos are embedded again in another order', async () => {
    const again = shuffled(manifest.files, 42).slice(0, 8);
    for (const f of again) {
      const r = await pool.process(readChecked(f));
      expect(Array.from(r.vector)).toEqual(Array.from(processed.get(f.file)!.vector));
    }
  });
});
