import { getPetOwner, type Queryable } from '@media-cluster/db';
import type { Request } from 'express';
import { ApiError } from '../errors.js';
import { securityViolation } from '../http/auth.js';
import type { ApiMetrics } from '../metrics.js';

export const petNotFound = () => new ApiError('not_found', 'No such pet');

/**
 * The pet's owner must be the caller. A pet of another owner is reported
 * exactly like a missing one (404), and logged as a security violation.
 * Resolves false when nobody owns the pet yet.
 */
export async function checkPetAccess(
  req: Request,
  db: Queryable,
  metrics: ApiMetrics,
  petId: string,
): Promise<boolean> {
  const owner = await getPetOwner(db, petId);
  if (owner === null) return false;
  if (owner !== req.state.owner) {
    securityViolation(req, metrics, 'not_owner');
    throw petNotFound();
  }
  return true;
}
