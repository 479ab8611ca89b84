import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { getPhotos } from '@media-cluster/db';
import { badUploadCorpus, PHOTO_FIXTURES_DIR, readPhotoFixture } from '@media-cluster/testkit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_BASE } from '../src/errors.js';
import { alice, bob, type Harness, startHarness } from './harness.js';

const DEMO = new URL('../demo-photos/', import.meta.url);
/** The photo fixtures folder; its `bad/` holds the bad-upload corpus. */
const BAD = pathToFileURL(PHOTO_FIXTURES_DIR);

const demoManifest = JSON.parse(readFileSync(new URL('manifest.json', DEMO), 'utf8')) as {
  files: { file: string; width: number; height: number; sha256: string; bytes: number }[];
};
const demo = (name: string) => readFileSync(new URL(name, DEMO));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('POST /v1/pets/{petId}/photos', () => {
  it('stores photos (201) with displayed size, sha256 and bytes, and keeps the bytes in the blob store', async () => {
    h = await startHarness();
    const entries = demoManifest.files.slice(0, 3);
    let req = request(h.app).post('/v1/pets/rex/photos').set(alice);
    for (const e of entries) req = req.attach('photos', demo(e.file), e.file);
    const res = await req.expect(201);
    expect(res.body.photos).toHaveLength(3);
    res.body.photos.forEach((p: Record<string, unknown>, i: number) => {
      const e = entries[i]!;
      expect(p).toEqual({
        id: expect.any(String),
        sha256: e.sha256,
        width: e.width,
        height: e.height,
        bytes: e.bytes,
      });
    });
    for (const e of entries) expect((await h.blobs.get(e.sha256)).equals(demo(e.file))).toBe(true);
    const stored = await getPhotos(h.db, 'rex');
    expect(stored.map((p) => p.sha256).sort()).toEqual(entries.map((e) => e.sha256).sort());
    expect(h.logs.find((l) => l.event === 'photos_uploaded')).toMatchObject({ photo_count: 3, new_count: 3 });
  });

  it('dedupes per pet: the same bytes again (or twice in one request) give the same id', async () => {
    h = await startHarness();
    const [a, b] = demoManifest.files;
    const first = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', demo(a!.file), 'a.jpg')
      .attach('photos', demo(a!.file), 'a-again.jpg')
      .expect(201);
    expect(first.body.photos[0].id).toBe(first.body.photos[1].id);
    const second = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', demo(b!.file), 'b.jpg')
      .attach('photos', demo(a!.file), 'renamed.jpg')
      .expect(201);
    expect(second.body.photos[1].id).toBe(first.body.photos[0].id);
    expect(await getPhotos(h.db, 'rex')).toHaveLength(2);
  });

  it('checks every file of the bad-upload corpus against its expected decision', async () => {
    h = await startHarness();
    for (const entry of badUploadCorpus()) {
      const bytes = readPhotoFixture(entry);
      const res = await request(h.app)
        .post('/v1/pets/corpus/photos')
        .set(alice)
        .attach('photos', bytes, 'upload.bin');
      if (entry.expect === 'accept') {
        expect(res.status, entry.file).toBe(201);
        expect(res.body.photos[0], entry.file).toMatchObject({
          sha256: entry.sha256,
          width: entry.width,
          height: entry.height,
        });
      } else {
        expect(res.status, entry.file).toBeGreaterThanOrEqual(400);
        expect(res.status, entry.file).toBeLessThan(500);
        expect(res.headers['content-type'], entry.file).toMatch(/^application\/problem\+json/);
        expect(res.body, entry.file).toMatchObject({
          type: `${PROBLEM_BASE}${entry.reason}`,
          reason: entry.reason,
          file: 'upload.bin',
          index: 0,
        });
      }
    }
    // Accepted ones are the pet's photos; nothing from the rejected ones.
    const accepted = badUploadCorpus()
      .filter((e) => e.expect === 'accept')
      .map((e) => e.sha256);
    expect((await getPhotos(h.db, 'corpus')).map((p) => p.sha256).sort()).toEqual(accepted.sort());
  });

  it('is all-or-nothing: one bad file rejects the upload, names the file, and records nothing', async () => {
    h = await startHarness();
    const good = demo(demoManifest.files[0]!.file);
    const res = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', good, 'good.jpg')
      .attach('photos', readFileSync(new URL('bad/truncated.jpg', BAD)), 'holiday.jpg')
      .attach('photos', good, 'good-again.jpg')
      .expect(422);
    expect(res.body).toMatchObject({ reason: 'corrupt', file: 'holiday.jpg', index: 1, status: 422 });
    expect(await getPhotos(h.db, 'rex')).toEqual([]);
    // The pet was not claimed either: bob may still take it.
    await request(h.app).post('/v1/pets/rex/photos').set(bob).attach('photos', good, 'g.jpg').expect(201);
  });

  it('refuses a file over MAX_PHOTO_BYTES with 413 naming it', async () => {
    h = await startHarness({ env: { MAX_PHOTO_BYTES: '20000' } });
    const small = demoManifest.files.find((f) => f.bytes < 20_000)!;
    const big = demoManifest.files.find((f) => f.bytes > 20_000)!;
    const res = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(alice)
      .attach('photos', demo(small.file), 'small.jpg')
      .attach('photos', demo(big.file), 'big.jpg')
      .expect(413);
    expect(res.body).toMatchObject({
      type: `${PROBLEM_BASE}file_too_large`,
      file: 'big.jpg',
      maxBytes: 20_000,
    });
    expect(await getPhotos(h.db, 'rex')).toEqual([]);
  });

  it('refuses more than MAX_PHOTOS files with 413', async () => {
    h = await startHarness({ env: { MAX_PHOTOS: '2' } });
    let req = request(h.app).post('/v1/pets/rex/photos').set(alice);
    for (const f of demoManifest.files.slice(0, 3)) req = req.attach('photos', demo(f.file), f.file);
    const res = await req.expect(413);
    expect(res.body).toMatchObject({ type: `${PROBLEM_BASE}too_many_files`, maxFiles: 2 });
    expect(await getPhotos(h.db, 'rex')).toEqual([]);
  });

  it('refuses a request over MAX_UPLOAD_BYTES with 413 before reading it', async () => {
    h = await startHarness({ env: { MAX_UPLOAD_BYTES: '30000' } });
    let req = request(h.app).post('/v1/pets/rex/photos').set(alice);
    for (const f of demoManifest.files.slice(0, 3)) req = req.attach('photos', demo(f.file), f.file);
    const res = await req;
    expect(res.status).toBe(413);
    expect(res.body.type).toBe(`${PROBLEM_BASE}payload_too_large`);
  });

  it('counts streamed bytes when there is no Content-Length and stops at MAX_UPLOAD_BYTES', async () => {
    h = await startHarness({ env: { MAX_UPLOAD_BYTES: '50000', MAX_PHOTO_BYTES: '1000000' } });
    const server = h.app.listen(0);
    try {
      const { port } = server.address() as AddressInfo;
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            port,
            method: 'POST',
            path: '/v1/pets/rex/photos',
            headers: {
              ...alice,
              'content-type': 'multipart/form-data; boundary=xyz',
              'transfer-encoding': 'chunked',
            },
          },
          (response) => {
            let body = '';
            response.on('data', (c) => {
              body += c;
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        // The server may close the connection while we still write: that is the point.
        req.on('error', reject);
        req.write('--xyz\r\ncontent-disposition: form-data; name="photos"; filename="big.jpg"\r\n\r\n');
        req.write(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(80_000, 1)]));
        req.end('\r\n--xyz--\r\n');
      });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).type).toBe(`${PROBLEM_BASE}payload_too_large`);
      expect(await getPhotos(h.db, 'rex')).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers malformed multipart, wrong fields and wrong content types with 4xx problems', async () => {
    h = await startHarness();
    const jpeg = demo(demoManifest.files[0]!.file);
    const cases: Array<[string, request.Test, number, string]> = [
      [
        'garbage body with a boundary',
        request(h.app)
          .post('/v1/pets/rex/photos')
          .set(alice)
          .set('content-type', 'multipart/form-data; boundary=xyz')
          .send('this is not multipart at all'),
        400,
        'malformed_multipart',
      ],
      [
        'unterminated part',
        request(h.app)
          .post('/v1/pets/rex/photos')
          .set(alice)
          .set('content-type', 'multipart/form-data; boundary=xyz')
          .send(
            '--xyz\r\ncontent-disposition: form-data; name="photos"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\nabc',
          ),
        400,
        'malformed_multipart',
      ],
      [
        'no boundary',
        request(h.app)
          .post('/v1/pets/rex/photos')
          .set(alice)
          .set('content-type', 'multipart/form-data')
          .send('x'),
        415,
        'unsupported_media_type',
      ],
      [
        'json instead of multipart',
        request(h.app).post('/v1/pets/rex/photos').set(alice).send({ photos: [] }),
        415,
        'unsupported_media_type',
      ],
      [
        'a text field',
        request(h.app)
          .post('/v1/pets/rex/photos')
          .set(alice)
          .field('note', 'hi')
          .attach('photos', jpeg, 'a.jpg'),
        400,
        'malformed_multipart',
      ],
      [
        'a file in another field',
        request(h.app).post('/v1/pets/rex/photos').set(alice).attach('photo', jpeg, 'a.jpg'),
        400,
        'malformed_multipart',
      ],
      [
        'an empty form',
        request(h.app)
          .post('/v1/pets/rex/photos')
          .set(alice)
          .set('content-type', 'multipart/form-data; boundary=xyz')
          .send('--xyz--\r\n'),
        400,
        'no_files',
      ],
    ];
    for (const [name, req, status, code] of cases) {
      const res = await req;
      expect(res.status, name).toBe(status);
      expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      expect(res.body.type, name).toBe(`${PROBLEM_BASE}${code}`);
    }
    expect(await getPhotos(h.db, 'rex')).toEqual([]);
    // Still healthy afterwards.
    await request(h.app).post('/v1/pets/rex/photos').set(alice).attach('photos', jpeg, 'a.jpg').expect(201);
  });

  it("hides another owner's pet (404) before reading the upload, and logs the violation", async () => {
    h = await startHarness();
    const jpeg = demo(demoManifest.files[0]!.file);
    await request(h.app).post('/v1/pets/rex/photos').set(alice).attach('photos', jpeg, 'a.jpg').expect(201);
    const res = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set(bob)
      .attach('photos', jpeg, 'a.jpg')
      .expect(404);
    expect(res.body.type).toBe(`${PROBLEM_BASE}not_found`);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'security_violation', reason: 'not_owner' }),
    );
    expect(await getPhotos(h.db, 'rex')).toHaveLength(1);
  });

  it('refuses pet ids that are not ids with 400', async () => {
    h = await startHarness();
    for (const bad of ['-rex', 'a'.repeat(65), 'rex%20x', 'r%C3%A9x']) {
      const res = await request(h.app)
        .post(`/v1/pets/${bad}/photos`)
        .set(alice)
        .attach('photos', demo(demoManifest.files[0]!.file), 'a.jpg');
      expect(res.status, bad).toBe(400);
      expect(res.body.type, bad).toBe(`${PROBLEM_BASE}invalid_id`);
    }
  });
});
