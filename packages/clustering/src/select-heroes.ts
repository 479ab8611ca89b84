import { compareIds } from './cluster.js';
import type { Group, HeroGroup, QualityScore } from './types.js';

export interface SelectHeroesOptions {
  /**
   * A photo whose Laplacian variance is below this fraction of its group's sharpest is "blurred
   * relative to its burst" and can be the hero only if nothing else is eligible. Relative, because
   * absolute sharpness depends on the scene (a foggy landscape is never crisp).
   * @defaultValue 0.5
   */
  minRelativeSharpness?: number;
}

/**
 * Picks each group's best photo: among the photos not blurred relative to the group's sharpest,
 * the highest `overall` quality (sharpness, exposure, resolution); ties go to the smallest id.
 * Photos without a quality score are chosen only when no photo of the group has one.
 */
export function selectHeroes(
  groups: readonly Group[],
  quality: ReadonlyMap<string, QualityScore>,
  opts: SelectHeroesOptions = {},
): HeroGroup[] {
  const minRelative = opts.minRelativeSharpness ?? 0.5;
  return groups.map((group) => {
    const ids = [...group.ids].sort(compareIds);
    if (ids.length === 0) throw new TypeError('selectHeroes: empty group');
    const scored = ids.filter((id) => quality.has(id));
    if (scored.length === 0) return { heroId: ids[0]!, ids };
    const sharpest = Math.max(...scored.map((id) => quality.get(id)!.laplacianVariance));
    const eligible = scored.filter((id) => quality.get(id)!.laplacianVariance >= minRelative * sharpest);
    let hero = eligible[0]!;
    for (const id of eligible) {
      if (quality.get(id)!.overall > quality.get(hero)!.overall) hero = id;
    }
    return { heroId: hero, ids };
  });
}
