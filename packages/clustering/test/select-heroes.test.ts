import { describe, expect, it } from 'vitest';
import { type QualityScore, scoreQuality, selectHeroes } from '../src/index.js';

const q = (laplacianVariance: number, overall: number, extra: Partial<QualityScore> = {}): QualityScore => ({
  laplacianVariance,
  sharpness: laplacianVariance / (laplacianVariance + 0.01),
  exposure: 1,
  resolution: 0.7,
  overall,
  ...extra,
});

describe('selectHeroes', () => {
  it('never picks a photo blurred relative to its group, even with the best overall score', () => {
    const quality = new Map([
      ['big-blurred', q(0.001, 0.99)],
      ['sharp', q(0.02, 0.6)],
      ['sharper', q(0.03, 0.7)],
    ]);
    expect(selectHeroes([{ ids: ['big-blurred', 'sharp', 'sharper'] }], quality)).toEqual([
      { heroId: 'sharper', ids: ['big-blurred', 'sharp', 'sharper'] },
    ]);
  });

  it('weighs exposure and resolution among the sharp photos', () => {
    const quality = new Map([
      ['crisp-but-dark', q(0.03, 0.5, { exposure: 0.1 })],
      ['good', q(0.025, 0.8)],
    ]);
    expect(selectHeroes([{ ids: ['good', 'crisp-but-dark'] }], quality)[0]!.heroId).toBe('good');
  });

  it('breaks ties by id and copes with missing scores', () => {
    const quality = new Map([
      ['b', q(0.02, 0.5)],
      ['a', q(0.02, 0.5)],
    ]);
    expect(selectHeroes([{ ids: ['b', 'a', 'unscored'] }], quality)[0]!.heroId).toBe('a');
    expect(selectHeroes([{ ids: ['z', 'y'] }], new Map())[0]).toEqual({ heroId: 'y', ids: ['y', 'z'] });
  });

  it('returns one entry per group, ids sorted', () => {
    const out = selectHeroes([{ ids: ['2', '1'] }, { ids: ['3'] }], new Map());
    expect(out).toEqual([
      { heroId: '1', ids: ['1', '2'] },
      { heroId: '3', ids: ['3'] },
    ]);
  });
});

describe('scoreQuality', () => {
  const image = (fill: (x: number, y: number) => number, size = 64) => {
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) data.fill(fill(x, y), (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
    return {
      width: 4000,
      height: 3000,
      format: 'jpeg' as const,
      rgb: { width: size, height: size, channels: 3 as const, data },
    };
  };
  const checker = (x: number, y: number) => (((x >> 2) + (y >> 2)) % 2 ? 200 : 60);
  const smooth = (x: number) => 60 + x * 2;

  it('scores a sharp pattern above a smooth gradient', () => {
    const sharp = scoreQuality(image(checker));
    const soft = scoreQuality(image(smooth));
    expect(sharp.laplacianVariance).toBeGreaterThan(soft.laplacianVariance * 10);
    expect(sharp.sharpness).toBeGreaterThan(soft.sharpness);
  });

  it('penalises clipped, dark and flat frames in exposure', () => {
    const good = scoreQuality(image(checker)).exposure;
    expect(scoreQuality(image((x, y) => (checker(x, y) > 100 ? 255 : 0))).exposure).toBeLessThan(good);
    expect(scoreQuality(image((x, y) => checker(x, y) / 6)).exposure).toBeLessThan(good);
    expect(scoreQuality(image(() => 128)).exposure).toBe(0);
    for (const v of Object.values(scoreQuality(image(checker)))) expect(Number.isFinite(v)).toBe(true);
  });
});
