import { isUuid } from './ids.js';
import type { Queryable } from './queryable.js';
import type { Cluster, ClusteringResult } from './types.js';

interface ClusterRow {
  cluster_index: number;
  hero_photo_id: string;
  photo_ids: string[];
}

/** The stored clusters of one job, by cluster index (empty when none). */
export async function getJobClusters(db: Queryable, jobId: string): Promise<Cluster[]> {
  if (!isUuid(jobId)) return [];
  const { rows } = await db.query<ClusterRow>(
    `SELECT c.cluster_index, c.hero_photo_id,
            array_agg(m.photo_id::text ORDER BY m.position) AS photo_ids
       FROM clusters c
       JOIN cluster_members m ON m.job_id = c.job_id AND m.cluster_index = c.cluster_index
      WHERE c.job_id = $1
      GROUP BY c.cluster_index, c.hero_photo_id
      ORDER BY c.cluster_index`,
    [jobId],
  );
  return rows.map((r) => ({
    clusterId: r.cluster_index,
    heroPhotoId: r.hero_photo_id,
    photoIds: r.photo_ids,
    size: r.photo_ids.length,
  }));
}

/** The result of the pet's most recently finished succeeded job, or null when it has none. */
export async function getLatestClusters(db: Queryable, petId: string): Promise<ClusteringResult | null> {
  const { rows } = await db.query<{ id: string; finished_at: Date }>(
    `SELECT id, finished_at FROM jobs
      WHERE pet_id = $1 AND status = 'succeeded'
      ORDER BY finished_at DESC LIMIT 1`,
    [petId],
  );
  const latest = rows[0];
  if (!latest) return null;
  // A concurrent redelivery replaces rows in one transaction: read them in one statement.
  return { jobId: latest.id, finishedAt: latest.finished_at, clusters: await getJobClusters(db, latest.id) };
}
