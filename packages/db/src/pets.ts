import type { Queryable } from './queryable.js';

/** `created`: this call made `owner` the pet's owner; `owned`: it already was; `not_owner`: someone else is. */
export type PetOwnership = 'owned' | 'created' | 'not_owner';

/**
 * Makes `owner` the owner of `petId` unless the pet exists already: the first
 * uploader owns a pet. Safe under concurrency (one INSERT ... ON CONFLICT).
 */
export async function ensurePetOwner(db: Queryable, petId: string, owner: string): Promise<PetOwnership> {
  const inserted = await db.query(
    'INSERT INTO pets (pet_id, owner) VALUES ($1, $2) ON CONFLICT (pet_id) DO NOTHING RETURNING owner',
    [petId, owner],
  );
  if (inserted.rowCount === 1) return 'created';
  const current = await getPetOwner(db, petId);
  return current === owner ? 'owned' : 'not_owner';
}

/** The pet's owner, or null when nobody has uploaded for it yet. */
export async function getPetOwner(db: Queryable, petId: string): Promise<string | null> {
  const { rows } = await db.query<{ owner: string }>('SELECT owner FROM pets WHERE pet_id = $1', [petId]);
  return rows[0]?.owner ?? null;
}
