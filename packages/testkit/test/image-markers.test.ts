import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_MARKERS, imageMarkersIn, PHOTO_FIXTURES_DIR } from '../src/index.js';

const photos = {
  jpeg: readFileSync(join(PHOTO_FIXTURES_DIR, 'clusters/chelsea-01.jpg')),
  exif: readFileSync(join(PHOTO_FIXTURES_DIR, 'bad/exif-orientation-6.jpg')),
  png: readFileSync(join(PHOTO_FIXTURES_DIR, 'clusters/chelsea-04.png')),
  webp: readFileSync(join(PHOTO_FIXTURES_DIR, 'clusters/chelsea-05.webp')),
};

/** Every way bytes end up as text by mistake; the slice starts mid-value, as in a log line. */
const encodings: Record<string, (bytes: Buffer) => unknown> = {
  latin1: (b) => `photo: ${b.toString('latin1')}`,
  utf8: (b) => `photo: ${b.toString('utf8')}`,
  base64: (b) => b.toString('base64'),
  'data URL': (b) => `data:image/*;base64,${b.toString('base64')}`,
  hex: (b) => b.toString('hex'),
  'upper-case hex': (b) => b.toString('hex').toUpperCase(),
  'JSON of a Buffer': (b) => JSON.stringify(b),
  'array of bytes': (b) => Array.from(b),
  'a Uint8Array attribute': (b) => ({ 'photo.bytes': new Uint8Array(b) }),
  'nested in an attribute': (b) => ({ event: { attributes: { body: b.toString('latin1') } } }),
};

describe('imageMarkersIn', () => {
  for (const [format, bytes] of Object.entries(photos)) {
    for (const [encoding, encode] of Object.entries(encodings)) {
      it(`finds a ${format} file's first 256 bytes as ${encoding}`, () => {
        expect(imageMarkersIn(encode(bytes.subarray(0, 256)))).not.toEqual([]);
      });
    }
  }

  it('names what it found', () => {
    expect(imageMarkersIn(photos.png.toString('base64'))).toEqual(['PNG signature, base64']);
  });

  it('finds nothing in ordinary telemetry: ids, hashes, trace ids, URLs, messages', () => {
    const ordinary: string[] = [
      'POST /v1/pets/{petId}/photos',
      'https://media-cluster.dev/problems/corrupt',
      'The file looks like gif; only JPEG, PNG and WebP photos are accepted',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'media_cluster_photos_failed{reason="unsupported_type"}',
      JSON.stringify({ width: 320, height: 213, bytes: 13301, durations: [255, 216, 254, 137, 80, 78, 71] }),
    ];
    // Many hashes and ids, as a busy run's telemetry has.
    let seed = Buffer.from('seed');
    for (let i = 0; i < 2_000; i++) {
      seed = createHash('sha256').update(seed).digest();
      ordinary.push(seed.toString('hex'), seed.toString('base64'), randomUUID());
    }
    expect(imageMarkersIn(ordinary)).toEqual([]);
  });

  it('every marker is tested above', () => {
    const found = new Set<string>();
    for (const bytes of Object.values(photos)) {
      for (const encode of Object.values(encodings)) {
        for (const name of imageMarkersIn(encode(bytes.subarray(0, 256)))) found.add(name);
      }
    }
    expect([...found].sort()).toEqual(IMAGE_MARKERS.map((m) => m.name).sort());
  });
});
