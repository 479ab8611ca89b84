import type { Group } from './types.js';

/**
 * Adjusted Rand Index between a clustering and reference labels (1 = identical partitions,
 * about 0 = chance). Items missing from `groups` count as singletons.
 */
export function adjustedRandIndex(groups: readonly Group[], truth: ReadonlyMap<string, string>): number {
  const predicted = new Map<string, number>();
  groups.forEach((g, k) => {
    for (const id of g.ids) predicted.set(id, k);
  });
  let next = groups.length;
  const ids = [...truth.keys()];
  const table = new Map<string, number>();
  const rows = new Map<string, number>();
  const cols = new Map<number, number>();
  for (const id of ids) {
    const t = truth.get(id)!;
    const p = predicted.get(id) ?? next++;
    const key = `${t}\u0000${p}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(t, (rows.get(t) ?? 0) + 1);
    cols.set(p, (cols.get(p) ?? 0) + 1);
  }
  const pairs = (x: number) => (x * (x - 1)) / 2;
  const sum = (values: Iterable<number>) => {
    let s = 0;
    for (const v of values) s += pairs(v);
    return s;
  };
  const index = sum(table.values());
  const rowSum = sum(rows.values());
  const colSum = sum(cols.values());
  const total = pairs(ids.length);
  if (total === 0) return 1;
  const expected = (rowSum * colSum) / total;
  const max = (rowSum + colSum) / 2;
  if (max === expected) return 1; // both partitions trivial and identical in shape
  return (index - expected) / (max - expected);
}
