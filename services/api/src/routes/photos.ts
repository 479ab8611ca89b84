import { ensurePetOwner, insertPhotos, type NewPhoto, withTransaction } from '@media-cluster/db';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { UploadedPhotos } from '../contract/schemas.js';
import type { AppDeps } from '../deps.js';
import { securityViolation } from '../http/auth.js';
import type { ApiMetrics } from '../metrics.js';
import { inspectPhoto } from '../upload/inspect-photo.js';
import { readMultipart } from '../upload/read-multipart.js';
import { petIdParam } from '../validate.js';
import { checkPetAccess, petNotFound } from './pet-access.js';

/**
 * POST /v1/pets/{petId}/photos: multipart `photos`, 1..MAX_PHOTOS files.
 * All-or-nothing: one bad file rejects the request (naming the file and the
 * reason) and no photo of it is recorded. Bytes of files accepted before the
 * bad one may already be in the blob store; that is harmless (content-addressed,
 * unreferenced, and the same bytes uploaded later reuse them).
 */
export function uploadPhotos(deps: AppDeps, metrics: ApiMetrics) {
  const { config, db, blobs } = deps;
  return async (req: Request, res: Response) => {
    const petId = petIdParam(req.params.petId);
    // Refuse another owner's pet before reading a byte of the body.
    await checkPetAccess(req, db, metrics, petId);

    const photos = await readMultipart(
      req,
      {
        field: 'photos',
        maxFiles: config.MAX_PHOTOS,
        maxFileBytes: config.MAX_PHOTO_BYTES,
        maxRequestBytes: config.MAX_UPLOAD_BYTES,
      },
      async (file): Promise<NewPhoto> => {
        const inspected = await inspectPhoto(file.data, {
          maxPixels: config.MAX_PIXELS,
          extras: { file: file.filename, index: file.index },
        });
        await blobs.put(file.sha256, file.data);
        return { sha256: file.sha256, bytes: file.data.length, ...inspected };
      },
    );

    // Claim the pet and record the photos together: a pet never exists without photos.
    const stored = await withTransaction(db, async (client) => {
      const ownership = await ensurePetOwner(client, petId, req.state.owner!);
      if (ownership === 'not_owner') return null;
      return insertPhotos(client, petId, photos);
    });
    if (!stored) {
      // Another owner claimed the pet while this upload was streaming.
      securityViolation(req, metrics, 'not_owner');
      throw petNotFound();
    }
    req.state.log.info(
      {
        event: 'photos_uploaded',
        photo_count: stored.length,
        new_count: stored.filter((p) => p.created).length,
        bytes: photos.reduce((sum, p) => sum + p.bytes, 0),
      },
      'photos uploaded',
    );
    res.status(201).json({
      photos: stored.map((p) => ({
        id: p.id,
        sha256: p.sha256,
        width: p.width,
        height: p.height,
        bytes: p.bytes,
      })),
    } satisfies z.output<typeof UploadedPhotos>);
  };
}
