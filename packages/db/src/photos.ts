import { isUuid } from './ids.js';
import type { Queryable } from './queryable.js';
import type { JobPhoto, NewPhoto, Photo, PhotoContentType } from './types.js';

interface PhotoRow {
  id: string;
  pet_id: string;
  sha256: string;
  width: number;
  height: number;
  bytes: number;
  content_type: PhotoContentType;
  created_at: Date;
}

const COLUMNS = 'id, pet_id, sha256, width, height, bytes, content_type, created_at';

function toPhoto(r: PhotoRow): Photo {
  return {
    id: r.id,
    petId: r.pet_id,
    sha256: r.sha256,
    width: r.width,
    height: r.height,
    bytes: r.bytes,
    contentType: r.content_type,
    createdAt: r.created_at,
  };
}

export interface StoredPhoto extends Photo {
  /** False when the same bytes were already stored for this pet (the existing photo is returned). */
  created: boolean;
}

/**
 * Stores photos of a pet, idempotent per (pet, sha256): bytes seen before for
 * this pet give back the existing photo. Returns one entry per input, in input
 * order (duplicates in the input map to the same photo). The pet must exist.
 */
export async function insertPhotos(db: Queryable, petId: string, photos: NewPhoto[]): Promise<StoredPhoto[]> {
  if (photos.length === 0) return [];
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO photos (pet_id, sha256, width, height, bytes, content_type)
     SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[], $5::int[], $6::text[])
     ON CONFLICT (pet_id, sha256) DO NOTHING
     RETURNING id`,
    [
      petId,
      photos.map((p) => p.sha256),
      photos.map((p) => p.width),
      photos.map((p) => p.height),
      photos.map((p) => p.bytes),
      photos.map((p) => p.contentType),
    ],
  );
  const createdIds = new Set(inserted.rows.map((r) => r.id));
  const { rows } = await db.query<PhotoRow>(
    `SELECT ${COLUMNS} FROM photos WHERE pet_id = $1 AND sha256 = ANY($2::text[])`,
    [petId, photos.map((p) => p.sha256)],
  );
  const bySha = new Map(rows.map((r) => [r.sha256, r]));
  const seen = new Set<string>();
  return photos.map((p) => {
    const row = bySha.get(p.sha256);
    if (!row) throw new Error(`Photo ${p.sha256} of the pet vanished while being stored`);
    // A duplicate inside one request is "created" only the first time.
    const created = createdIds.has(row.id) && !seen.has(row.id);
    seen.add(row.id);
    return { ...toPhoto(row), created };
  });
}

/**
 * Photos of a pet, oldest first; with `ids`, only those (ids of other pets or
 * unknown ids are simply absent from the result).
 */
export async function getPhotos(db: Queryable, petId: string, ids?: readonly string[]): Promise<Photo[]> {
  // Not-a-uuid ids cannot name a photo; dropping them keeps the query from failing.
  if (ids) ids = ids.filter(isUuid);
  const { rows } = ids
    ? await db.query<PhotoRow>(
        `SELECT ${COLUMNS} FROM photos WHERE pet_id = $1 AND id = ANY($2::uuid[]) ORDER BY created_at, id`,
        [petId, ids],
      )
    : await db.query<PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE pet_id = $1 ORDER BY created_at, id`, [
        petId,
      ]);
  return rows.map(toPhoto);
}

/**
 * Ids of the photos of a pet, oldest first: all of them, or at most `limit`
 * (ask for one more than allowed to learn that a pet has too many without
 * reading every id).
 */
export async function listPhotoIds(
  db: Queryable,
  petId: string,
  { limit }: { limit?: number } = {},
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM photos WHERE pet_id = $1 ORDER BY created_at, id${limit === undefined ? '' : ' LIMIT $2'}`,
    limit === undefined ? [petId] : [petId, limit],
  );
  return rows.map((r) => r.id);
}

/** How many photos a pet has. */
export async function countPhotos(db: Queryable, petId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM photos WHERE pet_id = $1', [
    petId,
  ]);
  return rows[0]?.n ?? 0;
}

/**
 * The photos a job clusters, in the job's `photoIds` order. Empty when the
 * job is unknown; a photo deleted since the job was created is missing.
 */
export async function getPhotosForJob(db: Queryable, jobId: string): Promise<JobPhoto[]> {
  if (!isUuid(jobId)) return [];
  const { rows } = await db.query<JobPhotoRow>(
    `SELECT p.id, p.sha256, p.width, p.height, p.content_type
       FROM jobs j
       CROSS JOIN LATERAL unnest(j.photo_ids) WITH ORDINALITY AS wanted(photo_id, position)
       JOIN photos p ON p.id = wanted.photo_id AND p.pet_id = j.pet_id
      WHERE j.id = $1
      ORDER BY wanted.position`,
    [jobId],
  );
  return rows.map(toJobPhoto);
}

/** The columns of a photo a job needs. */
export type JobPhotoRow = Pick<PhotoRow, 'id' | 'sha256' | 'width' | 'height' | 'content_type'>;

export const toJobPhoto = (r: JobPhotoRow): JobPhoto => ({
  id: r.id,
  sha256: r.sha256,
  width: r.width,
  height: r.height,
  contentType: r.content_type,
});
