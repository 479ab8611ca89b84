import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, cluster, DEFAULT_CLUSTER_THRESHOLD, embedderSpec } from '../src/index.js';
import { shuffled } from './photo-fixtures.js';

const v = (...xs: number[]) => Float32Array.from(xs);
/** A unit vector at `deg` degrees in the plane: cosine distance between a and b is 1 - cos(a - b). */
const angle = (deg: number) => v(Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180));

describe('cluster', () => {
  it('merges only what lies within the threshold, with no cluster count', () => {
    const items = [
      { id: 'a1', vector: angle(0) },
      { id: 'a2', vector: angle(5) },
      { id: 'a3', vector: angle(10) },
      { id: 'b1', vector: angle(90) },
      { id: 'b2', vector: angle(95) },
      { id: 'c', vector: angle(200) },
    ];
    const threshold = 1 - Math.cos((20 * Math.PI) / 180);
    expect(cluster(items, { threshold })).toEqual([
      { ids: ['a1', 'a2', 'a3'] },
      { ids: ['b1', 'b2'] },
      { ids: ['c'] },
    ]);
    expect(cluster(items, { threshold: 0 })).toHaveLength(6);
    expect(cluster(items, { threshold: 2 })).toEqual([{ ids: ['a1', 'a2', 'a3', 'b1', 'b2', 'c'] }]);
  });

  it('average linkage does not chain the way single linkage does', () => {
    // A line of points 8 degrees apart: single linkage joins all of them at a 10-degree threshold.
    const items = Array.from({ length: 8 }, (_, i) => ({ id: `p${i}`, vector: angle(i * 8) }));
    const threshold = 1 - Math.cos((10 * Math.PI) / 180);
    expect(cluster(items, { threshold, linkage: 'single' })).toHaveLength(1);
    expect(cluster(items, { threshold, linkage: 'average' }).length).toBeGreaterThan(1);
    expect(cluster(items, { threshold, linkage: 'complete' }).length).toBeGreaterThan(1);
  });

  it('is independent of input order, ties included', () => {
    // Equidistant points: every merge is a tie, broken by id order.
    const items = Array.from({ length: 12 }, (_, i) => ({
      id: `id-${String(i).padStart(2, '0')}`,
      vector: angle(i * 30),
    }));
    const threshold = 1 - Math.cos((45 * Math.PI) / 180);
    const reference = cluster(items, { threshold });
    expect(reference.length).toBeGreaterThan(1);
    for (const seed of [7, 8, 9, 10])
      expect(cluster(shuffled(items, seed), { threshold })).toEqual(reference);
  });

  it('uses cosine distance (vector length does not matter)', () => {
    const items = [
      { id: 'x', vector: v(1, 0, 0) },
      { id: 'y', vector: v(10, 0.1, 0) },
      { id: 'z', vector: v(0, 0, 3) },
    ];
    expect(cluster(items, { threshold: 0.01 })).toEqual([{ ids: ['x', 'y'] }, { ids: ['z'] }]);
  });

  it('handles empty input and a single photo', () => {
    expect(cluster([])).toEqual([]);
    expect(cluster([{ id: 'only', vector: v(1, 2) }])).toEqual([{ ids: ['only'] }]);
  });

  it('rejects duplicate ids and mismatched dimensions', () => {
    expect(() =>
      cluster([
        { id: 'a', vector: v(1) },
        { id: 'a', vector: v(1) },
      ]),
    ).toThrow(/duplicate/);
    expect(() =>
      cluster([
        { id: 'a', vector: v(1) },
        { id: 'b', vector: v(1, 2) },
      ]),
    ).toThrow(/length/);
  });

  it("defaults to the default embedder's tuned threshold", () => {
    expect(DEFAULT_CLUSTER_THRESHOLD).toBe(embedderSpec('default').clusterThreshold);
  });
});

describe('adjustedRandIndex', () => {
  const truth = new Map([
    ['a', 'x'],
    ['b', 'x'],
    ['c', 'y'],
    ['d', 'y'],
  ]);
  it('is 1 for the same partition, whatever the labels', () => {
    expect(adjustedRandIndex([{ ids: ['c', 'd'] }, { ids: ['a', 'b'] }], truth)).toBe(1);
  });
  it('is negative or zero for an anti-correlated split, and counts missing ids as singletons', () => {
    expect(adjustedRandIndex([{ ids: ['a', 'c'] }, { ids: ['b', 'd'] }], truth)).toBeLessThanOrEqual(0);
    // {a,b} {c} {d}: index 1, rows 2, cols 1, total 6 -> (1 - 1/3) / (1.5 - 1/3) = 4/7.
    expect(adjustedRandIndex([{ ids: ['a', 'b'] }], truth)).toBeCloseTo(4 / 7, 10);
  });
  it('matches a hand-computed value', () => {
    // Contingency [[2,1],[0,3]] over 6 items: index 1+0+3 = 4, rows 3+3 = 6, cols 1+6 = 7, total 15.
    const t = new Map([
      ['1', 'A'],
      ['2', 'A'],
      ['3', 'A'],
      ['4', 'B'],
      ['5', 'B'],
      ['6', 'B'],
    ]);
    const expected = (4 - (6 * 7) / 15) / ((6 + 7) / 2 - (6 * 7) / 15);
    expect(adjustedRandIndex([{ ids: ['1', '2'] }, { ids: ['3', '4', '5', '6'] }], t)).toBeCloseTo(
      expected,
      10,
    );
  });
});
