import { badUploadCorpus, readPhotoFixture } from '@media-cluster/testkit';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  admitPhoto,
  decodePhotoRaster,
  PHOTO_REJECTION_REASONS,
  PhotoRejectedError,
  readPhotoHeader,
} from '../src/index.js';

const corpus = badUploadCorpus();
const fixture = (name: string) => readPhotoFixture(corpus.find((f) => f.file === `bad/${name}`)!);

describe('admitPhoto on the bad-upload corpus', () => {
  for (const entry of corpus) {
    it(`${entry.expect}s ${entry.file}${entry.reason ? ` as ${entry.reason}` : ''}`, async () => {
      const result = admitPhoto(readPhotoFixture(entry));
      if (entry.expect === 'accept') {
        await expect(result, entry.note).resolves.toMatchObject({ width: entry.width, height: entry.height });
      } else {
        const error = await result.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, entry.note).toBeInstanceOf(PhotoRejectedError);
        expect((error as PhotoRejectedError).reason).toBe(entry.reason);
        expect((error as PhotoRejectedError).code).toBe('PHOTO_REJECTED');
      }
    });
  }

  it('uses only the reasons this package declares', () => {
    const reasons = new Set(corpus.map((e) => e.reason).filter((r) => r !== null));
    expect([...reasons].sort()).toEqual([...PHOTO_REJECTION_REASONS].sort());
  });
});

describe('the decode policy', () => {
  it("accepts a decoder warning that sharp's default failOn ('warning') refuses", async () => {
    const bytes = fixture('stray-marker.jpg');
    await expect(sharp(bytes).resize(256, 256, { fit: 'inside' }).raw().toBuffer()).rejects.toThrow(
      /premature end of data segment/,
    );
    await expect(decodePhotoRaster(bytes, { maxSide: 256 })).resolves.toMatchObject({
      width: 320,
      height: 213,
    });
  });

  it('reports sizes and pixels upright (EXIF orientation 6: stored 213x320)', async () => {
    const bytes = fixture('exif-orientation-6.jpg');
    expect(await readPhotoHeader(bytes)).toEqual({
      format: 'jpeg',
      contentType: 'image/jpeg',
      width: 320,
      height: 213,
    });
    const { rgb } = await decodePhotoRaster(bytes, { maxSide: 64 });
    // Landscape like the upright photo, not portrait like the stored pixels.
    expect(rgb.width).toBe(64);
    expect(rgb.height).toBeLessThan(rgb.width);
  });

  it('checks maxPixels on the upright header size, and says so', async () => {
    const bytes = fixture('exif-orientation-6.jpg');
    const error = await admitPhoto(bytes, { maxPixels: 320 * 213 - 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: 'too_large_dimensions',
      details: { width: 320, height: 213, maxPixels: 320 * 213 - 1 },
    });
    await expect(admitPhoto(bytes, { maxPixels: 320 * 213 })).resolves.toMatchObject({ width: 320 });
  });

  it('names what an unsupported file looks like', async () => {
    const error = await admitPhoto(fixture('vector.svg')).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'unsupported_type', details: { detectedType: 'svg' } });
    expect((error as Error).message).toMatch(/looks like svg/);
  });

  it('never enlarges, and flattens to 3-channel sRGB', async () => {
    const { rgb } = await decodePhotoRaster(fixture('one-pixel.png'), { maxSide: 256 });
    expect(rgb).toMatchObject({ width: 1, height: 1, channels: 3 });
    expect(rgb.data).toHaveLength(3);
  });
});
