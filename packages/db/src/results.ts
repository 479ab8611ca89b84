import type pg from 'pg';
import { DbError } from './errors.js';
import { isUuid } from './ids.js';
import { type JobRow, jobColumns, toJob } from './jobs.js';
import type { Queryable } from './queryable.js';
import type { Cluster, ClusterInput, ClusteringResult, Job } from './types.js';

function checkClusters(jobPhotoIds: Set<string>, clusters: ClusterInput[]): void {
  const seen = new Set<string>();
  clusters.forEach((c, index) => {
    if (c.photoIds.length === 0) throw new DbError('DB_INVALID_RESULT', `Cluster ${index} has no photos`);
    if (!c.photoIds.includes(c.heroPhotoId)) {
      throw new DbError('DB_INVALID_RESULT', `Cluster ${index}: the hero is not one of its photos`);
    }
    for (const id of c.photoIds) {
      if (!jobPhotoIds.has(id))
        throw new DbError('DB_INVALID_RESULT', `Cluster ${index}: photo ${id} is not in the job`);
      if (seen.has(id)) throw new DbError('DB_INVALID_RESULT', `Photo ${id} is in more than one cluster`);
      seen.add(id);
    }
  });
}

async function writeResult(client: pg.PoolClient, jobId: string, clusters: ClusterInput[]): Promise<Job> {
  // The row lock serialises two deliveries of the same job finishing at once.
  const locked = await client.query<{ photo_ids: string[] }>(
    'SELECT photo_ids::text[] AS photo_ids FROM jobs WHERE id = $1 FOR UPDATE',
    [jobId],
  );
  const job = locked.rows[0];
  if (!job) throw new DbError('DB_JOB_NOT_FOUND', `Job ${jobId} does not exist`);
  checkClusters(new Set(job.photo_ids), clusters);

  // Replace, never add to, an earlier result of this job (a redelivery).
  await client.query('DELETE FROM clusters WHERE job_id = $1', [jobId]);
  if (clusters.length > 0) {
    await client.query(
      `INSERT INTO clusters (job_id, cluster_index, hero_photo_id)
       SELECT $1, * FROM unnest($2::int[], $3::uuid[])`,
      [jobId, clusters.map((_, i) => i), clusters.map((c) => c.heroPhotoId)],
    );
    const members = clusters.flatMap((c, i) =>
      c.photoIds.map((photoId, position) => ({ i, photoId, position })),
    );
    await client.query(
      `INSERT INTO cluster_members (job_id, cluster_index, photo_id, position)
       SELECT $1, * FROM unnest($2::int[], $3::uuid[], $4::int[])`,
      [jobId, members.map((m) => m.i), members.map((m) => m.photoId), members.map((m) => m.position)],
    );
  }
  const { rows } = await client.query<JobRow>(
    `UPDATE jobs SET status = 'succeeded', error = NULL, finished_at = now(), updated_at = now()
      WHERE id = $1 RETURNING ${jobColumns()}`,
    [jobId],
  );
  return toJob(rows[0]!);
}

/**
 * Worker: stores a job's clusters and marks it `succeeded`, in ONE transaction.
 * Any earlier result of the same job is replaced, so a redelivered job never
 * duplicates rows. Throws `DB_JOB_NOT_FOUND` for an unknown job and
 * `DB_INVALID_RESULT` when a cluster is empty, its hero is not a member, or a
 * photo is not the job's or is in two clusters (nothing is written then).
 *
 * Given a pool, it checks out a client for the transaction; given a client,
 * it runs BEGIN/COMMIT on it (the client must not be inside a transaction).
 */
export async function saveJobResult(
  db: pg.Pool | pg.PoolClient,
  jobId: string,
  clusters: ClusterInput[],
): Promise<Job> {
  if (!isUuid(jobId)) throw new DbError('DB_JOB_NOT_FOUND', `Job ${jobId} does not exist`);
  const isClient = typeof (db as pg.PoolClient).release === 'function';
  const client = isClient ? (db as pg.PoolClient) : await (db as pg.Pool).connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const job = await writeResult(client, jobId, clusters);
      await client.query('COMMIT');
      return job;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    if (!isClient) client.release(broken);
  }
}

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
