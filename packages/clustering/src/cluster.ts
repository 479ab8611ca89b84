import { embedderSpec } from './embedders.js';
import type { EmbeddingInput, Group } from './types.js';

/** Default cosine-distance threshold: the default embedder's tuned value (see README). */
export const DEFAULT_CLUSTER_THRESHOLD = embedderSpec('default').clusterThreshold;

export type Linkage = 'average' | 'complete' | 'single';

export interface ClusterOptions {
  /**
   * Two clusters merge while their linkage distance (cosine distance, 0..2) is at most this.
   * Tuned per embedder: use the pool's/embedder's `clusterThreshold` for a non-default embedder.
   * @defaultValue DEFAULT_CLUSTER_THRESHOLD (0.0053, the default embedder's)
   */
  threshold?: number;
  /**
   * How the distance between two clusters is taken from their members' distances.
   * @defaultValue 'average' (UPGMA: robust to one odd member, unlike single linkage's chaining)
   */
  linkage?: Linkage;
}

/**
 * Agglomerative clustering with a distance threshold (no number of clusters needed).
 * Deterministic and independent of input order: items are sorted by id first, ties between equal
 * distances go to the lowest indices, and the output is sorted (ids inside a group, groups by first id).
 * @throws TypeError on duplicate ids or vectors of different lengths.
 */
export function cluster(embeddings: readonly EmbeddingInput[], opts: ClusterOptions = {}): Group[] {
  const threshold = opts.threshold ?? DEFAULT_CLUSTER_THRESHOLD;
  const linkage = opts.linkage ?? 'average';
  const items = [...embeddings].sort((a, b) => compareIds(a.id, b.id));
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.id === items[i - 1]!.id) throw new TypeError(`duplicate embedding id ${items[i]!.id}`);
  }
  const n = items.length;
  if (n === 0) return [];
  const dist = cosineDistances(items.map((e) => e.vector));

  // Members and size per live cluster; cluster k keeps index k of its lowest member.
  const members: number[][] = items.map((_, i) => [i]);
  const alive = new Uint8Array(n).fill(1);
  const nn = new Int32Array(n).fill(-1);
  const nnDist = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const refreshNearest = (i: number): void => {
    nn[i] = -1;
    nnDist[i] = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      if (j === i || !alive[j]) continue;
      const d = dist[i * n + j]!;
      if (d < nnDist[i]!) {
        nnDist[i] = d;
        nn[i] = j;
      }
    }
  };
  for (let i = 0; i < n; i++) refreshNearest(i);

  for (;;) {
    let a = -1;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (alive[i] && nnDist[i]! < best) {
        best = nnDist[i]!;
        a = i;
      }
    }
    if (a < 0 || best > threshold) break;
    let b = nn[a]!;
    if (b < a) [a, b] = [b, a];
    // Lance-Williams update of the merged cluster's row (kept at index a).
    const sa = members[a]!.length;
    const sb = members[b]!.length;
    for (let k = 0; k < n; k++) {
      if (!alive[k] || k === a || k === b) continue;
      const da = dist[a * n + k]!;
      const db = dist[b * n + k]!;
      const d =
        linkage === 'average'
          ? (sa * da + sb * db) / (sa + sb)
          : linkage === 'complete'
            ? Math.max(da, db)
            : Math.min(da, db);
      dist[a * n + k] = d;
      dist[k * n + a] = d;
    }
    members[a] = members[a]!.concat(members[b]!);
    members[b] = [];
    alive[b] = 0;
    for (let k = 0; k < n; k++) {
      if (!alive[k]) continue;
      if (k === a || nn[k] === a || nn[k] === b) refreshNearest(k);
      else if (dist[k * n + a]! < nnDist[k]! || (dist[k * n + a] === nnDist[k] && a < nn[k]!)) {
        nnDist[k] = dist[k * n + a]!;
        nn[k] = a;
      }
    }
  }

  const groups: Group[] = [];
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue;
    groups.push({ ids: members[i]!.sort((x, y) => x - y).map((m) => items[m]!.id) });
  }
  return groups.sort((x, y) => compareIds(x.ids[0]!, y.ids[0]!));
}

/** Pairwise cosine distances (1 - cos), row-major n x n, 0 on the diagonal. */
export function cosineDistances(vectors: readonly Float32Array[]): Float64Array {
  const n = vectors.length;
  const dim = vectors[0]?.length ?? 0;
  const unit = vectors.map((v) => {
    if (v.length !== dim) throw new TypeError(`embedding length ${v.length} differs from ${dim}`);
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += v[i]! * v[i]!;
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    const u = new Float64Array(dim);
    for (let i = 0; i < dim; i++) u[i] = v[i]! * inv;
    return u;
  });
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      const a = unit[i]!;
      const b = unit[j]!;
      for (let k = 0; k < dim; k++) dot += a[k]! * b[k]!;
      const d = Math.max(0, 1 - dot);
      out[i * n + j] = d;
      out[j * n + i] = d;
    }
  }
  return out;
}

/** Code-unit order, the same in every locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
