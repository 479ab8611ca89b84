import { admitPhoto, PhotoRejectedError, sniffPhoto } from '@media-cluster/photo';
import { badUploadCorpus } from '@media-cluster/testkit';
import { describe, expect, it } from 'vitest';
import { decodePhoto, WORK_SIZE } from '../src/index.js';
import { clusterManifest, readChecked } from './photo-fixtures.js';

/** What an admission path decided about one file: the reason, or the upright size. */
async function outcome(run: () => Promise<{ width: number; height: number }>) {
  try {
    const { width, height } = await run();
    return { accepted: true, width, height };
  } catch (error) {
    if (!(error instanceof PhotoRejectedError)) throw error;
    return { accepted: false, reason: error.reason };
  }
}

describe('decodePhoto on the bad-upload corpus (testkit bad/manifest.json)', () => {
  for (const entry of badUploadCorpus()) {
    if (entry.expect === 'reject') {
      it(`rejects ${entry.file} as ${entry.reason}`, async () => {
        const error = await decodePhoto(readChecked(entry)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, entry.note).toBeInstanceOf(PhotoRejectedError);
        expect((error as PhotoRejectedError).reason).toBe(entry.reason);
        expect((error as PhotoRejectedError).message.length).toBeGreaterThan(5);
      });
    } else {
      it(`accepts ${entry.file} upright at ${entry.width}x${entry.height}`, async () => {
        const image = await decodePhoto(readChecked(entry));
        expect({ width: image.width, height: image.height }).toEqual({
          width: entry.width,
          height: entry.height,
        });
        const { rgb } = image;
        expect(rgb.channels).toBe(3);
        expect(rgb.data.length).toBe(rgb.width * rgb.height * 3);
        expect(Math.max(rgb.width, rgb.height)).toBeLessThanOrEqual(WORK_SIZE);
        // The working raster keeps the upright aspect ratio.
        expect(rgb.width >= rgb.height).toBe(entry.width! >= entry.height!);
      });
    }
  }

  it("agrees with the api's admission check (admitPhoto) on every file", async () => {
    for (const entry of badUploadCorpus()) {
      const bytes = readChecked(entry);
      const [worker, api] = [await outcome(() => decodePhoto(bytes)), await outcome(() => admitPhoto(bytes))];
      expect(worker, entry.file).toEqual(api);
    }
  });

  it('applies maxPixels from the header before decoding', async () => {
    const bytes = readChecked(badUploadCorpus().find((f) => f.file === 'bad/exif-orientation-6.jpg')!);
    await expect(decodePhoto(bytes, { maxPixels: 320 * 213 - 1 })).rejects.toMatchObject({
      reason: 'too_large_dimensions',
    });
    await expect(decodePhoto(bytes, { maxPixels: 320 * 213 })).resolves.toMatchObject({
      width: 320,
      height: 213,
    });
  });

  it('turns the 16-bit grey and CMYK files into 8-bit RGB close to the sRGB original', async () => {
    const files = badUploadCorpus();
    const reference = await decodePhoto(
      readChecked(files.find((f) => f.file === 'bad/trailing-garbage.jpg')!),
    );
    const cmyk = await decodePhoto(readChecked(files.find((f) => f.file === 'bad/cmyk.jpg')!));
    const mean = (d: Uint8Array) => d.reduce((s, v) => s + v, 0) / d.length;
    // Same cat, same size: a CMYK file read as if it were RGB (or inverted) would be far off.
    expect(Math.abs(mean(cmyk.rgb.data) - mean(reference.rgb.data))).toBeLessThan(20);
  });
});

describe('decodePhoto on the labelled set', () => {
  it('reads every JPEG/PNG/WebP with its manifest size', async () => {
    const manifest = clusterManifest();
    for (const f of manifest.files) {
      const bytes = readChecked(f);
      const image = await decodePhoto(bytes);
      expect([f.file, image.width, image.height]).toEqual([f.file, f.width, f.height]);
      const sniffed = sniffPhoto(bytes);
      expect(sniffed.accepted && sniffed.format).toBe(image.format);
    }
  });
});
