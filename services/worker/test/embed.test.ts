import type { QualityScore } from '@media-cluster/clustering';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { embedPhotos, type PhotoEmbedder } from '../src/stages/embed.js';
import { MissingBlobError, type PhotoRef } from '../src/stages/load-photos.js';

const quality: QualityScore = { laplacianVariance: 1, sharpness: 1, exposure: 1, resolution: 1, overall: 1 };

describe('embedPhotos', () => {
  it('holds at most `concurrency` photos’ bytes at once, however many photos the job has', async () => {
    const photos: PhotoRef[] = Array.from({ length: 200 }, (_, i) => ({
      id: `p${String(i).padStart(3, '0')}`,
      sha256: `s${i}`,
    }));
    let held = 0;
    let peak = 0;
    const embedder: PhotoEmbedder = {
      modelVersion: 'test',
      async process(bytes) {
        // Let other lanes run while this photo's bytes are held, as a thread pool would.
        await new Promise((r) => setTimeout(r, 1));
        held -= 1;
        return { vector: new Float32Array([bytes[0]!, 1]), quality, width: 1, height: 1 };
      },
    };
    const read = async (photo: PhotoRef) => {
      await new Promise((r) => setImmediate(r));
      if (photo.id === 'p007') throw new MissingBlobError('gone');
      held += 1;
      peak = Math.max(peak, held);
      return Buffer.from([Number(photo.sha256.slice(1)) % 256]);
    };
    const span = trace.getTracer('test').startSpan('embed');
    const { embedded, failed } = await embedPhotos(embedder, photos, { concurrency: 4, span, read });
    span.end();
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
    expect(held).toBe(0);
    expect(failed).toEqual([{ id: 'p007', reason: 'missing_blob' }]);
    expect(embedded).toHaveLength(199);
    expect(embedded.map((e) => e.id)).toEqual(photos.map((p) => p.id).filter((id) => id !== 'p007'));
  });
});
