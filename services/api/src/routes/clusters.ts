import { getLatestClusters } from '@media-cluster/db';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { PetClusters } from '../contract/schemas.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { petIdParam } from '../validate.js';
import { checkPetAccess, petNotFound } from './pet-access.js';

/** GET /v1/pets/{petId}/clusters: the latest succeeded clustering of the pet. */
export function getPetClusters(deps: AppDeps, metrics: ApiMetrics) {
  const { db } = deps;
  return async (req: Request, res: Response) => {
    const petId = petIdParam(req.params.petId);
    if (!(await checkPetAccess(req, db, metrics, petId))) throw petNotFound();
    const result = await getLatestClusters(db, petId);
    if (!result) throw new ApiError('not_found', 'The pet has no finished clustering yet');
    res.json({
      jobId: result.jobId,
      finishedAt: result.finishedAt.toISOString(),
      clusters: result.clusters,
    } satisfies z.output<typeof PetClusters>);
  };
}
