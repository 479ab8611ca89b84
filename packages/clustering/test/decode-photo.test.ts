import { describe, expect, it } from 'vitest';
import { decodePhoto, PhotoDecodeError, sniffPhotoFormat, WORK_SIZE } from '../src/index.js';
import { badManifest, clusterManifest, readChecked } from './photo-fixtures.js';

describe('decodePhoto on the upload edge cases (bad/manifest.json)', () => {
  for (const entry of badManifest().files) {
    if (entry.expect === 'reject') {
      it(`rejects ${entry.file} as ${entry.reason}`, async () => {
        const bytes = readChecked(entry);
        const error = await decodePhoto(bytes).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, entry.note).toBeInstanceOf(PhotoDecodeError);
        expect((error as PhotoDecodeError).code).toBe(entry.reason);
        expect((error as PhotoDecodeError).message.length).toBeGreaterThan(5);
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

  it('applies maxPixels from the header before decoding', async () => {
    const bytes = readChecked(badManifest().files.find((f) => f.file === 'bad/exif-orientation-6.jpg')!);
    await expect(decodePhoto(bytes, { maxPixels: 320 * 213 - 1 })).rejects.toMatchObject({
      code: 'too_large_dimensions',
    });
    await expect(decodePhoto(bytes, { maxPixels: 320 * 213 })).resolves.toMatchObject({
      width: 320,
      height: 213,
    });
  });

  it('turns the 16-bit grey and CMYK files into 8-bit RGB close to the sRGB original', async () => {
    const files = badManifest().files;
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
      expect(image.format).toBe(sniffPhotoFormat(bytes));
    }
  });
});

describe('sniffPhotoFormat', () => {
  it('looks only at the leading magic bytes', () => {
    expect(sniffPhotoFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffPhotoFormat(Buffer.from('89504e470d0a1a0a', 'hex'))).toBe('png');
    expect(sniffPhotoFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffPhotoFormat(Buffer.from('GIF89a'))).toBeUndefined();
    expect(
      sniffPhotoFormat(Buffer.concat([Buffer.from('<html>'), Buffer.from([0xff, 0xd8, 0xff])])),
    ).toBeUndefined();
    expect(sniffPhotoFormat(Buffer.alloc(0))).toBeUndefined();
  });
});
