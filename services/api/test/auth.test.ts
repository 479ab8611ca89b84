import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_BASE } from '../src/errors.js';
import { ALICE_KEY, alice, BOB_KEY, type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const routes: Array<[method: 'get' | 'post', path: string]> = [
  ['post', '/v1/pets/rex/photos'],
  ['post', '/v1/pets/rex/clustering-jobs'],
  ['get', '/v1/pets/rex/clusters'],
  ['get', '/v1/jobs/00000000-0000-4000-8000-000000000000'],
];

describe('API keys', () => {
  it('answers every /v1 route without a valid bearer key with 401 problem+json', async () => {
    h = await startHarness();
    const headers: Array<[string, Record<string, string>, string]> = [
      ['none', {}, 'missing_key'],
      ['wrong key', { authorization: 'Bearer not-a-real-key-123' }, 'invalid_key'],
      ['prefix of a key', { authorization: `Bearer ${ALICE_KEY.slice(0, -1)}` }, 'invalid_key'],
      [
        'basic auth',
        { authorization: `Basic ${Buffer.from(`x:${ALICE_KEY}`).toString('base64')}` },
        'invalid_key',
      ],
      ['key without scheme', { authorization: ALICE_KEY }, 'invalid_key'],
    ];
    for (const [method, path] of routes) {
      for (const [name, header, reason] of headers) {
        const res = await request(h.app)[method](path).set(header);
        expect(res.status, `${method} ${path} ${name}`).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(res.body.type).toBe(`${PROBLEM_BASE}unauthorized`);
        const violations = h.logs.filter((l) => l.event === 'security_violation');
        expect(violations.at(-1), name).toMatchObject({ reason, route: expect.stringMatching(/^\/v1\//) });
      }
    }
    // The keys never reach the logs, not even in refused requests.
    const text = JSON.stringify(h.logs);
    expect(text).not.toContain(ALICE_KEY);
    expect(text).not.toContain(ALICE_KEY.slice(0, -1));
    expect(text).not.toContain('not-a-real-key-123');
  });

  it('accepts the scheme case-insensitively and maps each key to its owner', async () => {
    h = await startHarness();
    const photo = readFileSync(new URL('../demo-photos/chelsea-01.jpg', import.meta.url));
    await request(h.app)
      .post('/v1/pets/rex/photos')
      .set('authorization', `bearer ${ALICE_KEY}`)
      .attach('photos', photo, 'a.jpg')
      .expect(201);
    await request(h.app).get('/v1/pets/rex/clusters').set(alice).expect(404);
    const bobRes = await request(h.app)
      .post('/v1/pets/rex/photos')
      .set('authorization', `Bearer ${BOB_KEY}`)
      .attach('photos', photo, 'a.jpg');
    expect(bobRes.status).toBe(404);
  });

  it('leaves /health and /ready open', async () => {
    h = await startHarness();
    await request(h.app).get('/health').expect(200);
    await request(h.app).get('/ready').expect(200);
  });
});
