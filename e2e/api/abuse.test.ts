// Abuse: bad input thrown at the real api process (50 MB bodies, too many
// files, malformed multipart, bad JSON, 64 KB headers, unknown fields, ids
// that are not ids, wrong keys, another owner's things, the bad-upload corpus,
// SSRF callbacks). Every answer is a 4xx problem+json (never a 5xx, never a
// crash); the api stays alive, healthy and ready; the worker still runs the
// jobs it is given, never follows a callback redirect; and nothing secret
// reaches telemetry. The supertest versions (services/api/test) check each
// rule in detail; these check that the built processes keep them.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { badUploadCorpus, readPhotoFixture, waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortedUpload,
  type HookReceiver,
  multipart,
  type Reply,
  send,
  sendRaw,
  startHookReceiver,
} from '../support/http-tools.js';
import { telemetryLeaks } from '../support/hygiene.js';
import { KEY_A, KEY_B, type Stack, startStack } from '../support/stack.js';

const MB = 1024 * 1024;
const PROBLEMS = 'https://media-cluster.dev/problems/';

const corpus = badUploadCorpus();

/** Strings that must never reach telemetry, besides pet ids and the two real keys. */
const secret = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
const WRONG_KEY = secret('wrong-key');
const CALLBACK_TOKEN = secret('cbtoken');
const SSRF_PROBE = secret('ssrfprobe');
const HEADER_PROBE = secret('headerprobe');
const ID_PROBE = secret('idprobe');
const FILENAME_PROBE = secret('fileprobe');
const SECRETS = [WRONG_KEY, CALLBACK_TOKEN, SSRF_PROBE, HEADER_PROBE, ID_PROBE, FILENAME_PROBE];

let stack: Stack;
let hook: HookReceiver;
/** Another host:port, outside the allow-list: a redirect target that must never be hit. */
let trap: HookReceiver;
let apiUrl: string;
const A = { authorization: `Bearer ${KEY_A}` };
const B = { authorization: `Bearer ${KEY_B}` };

beforeAll(async () => {
  [hook, trap] = await Promise.all([startHookReceiver(), startHookReceiver()]);
  stack = await startStack({
    label: 'abuse',
    workers: 1,
    // A name and one host:port: every IP literal but that one is outside.
    env: { CALLBACK_ALLOWED_HOSTS: `hooks.example.test,127.0.0.1:${hook.port}` },
    workerEnv: { WEBHOOK_MAX_ATTEMPTS: '2' },
  });
  apiUrl = stack.apiUrl;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await Promise.all([hook?.stop(), trap?.stop()]);
});

/** A 4xx problem+json with this status and code, from a process that is still up. */
function expectProblem(res: Reply, status: number, code: string, what: string): void {
  expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(status);
  expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  expect(res.json, what).toMatchObject({ type: `${PROBLEMS}${code}`, status, code });
}

const json = (body: unknown) => ({
  headers: { ...A, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** `total` bytes in 1 MB chunks, starting with `head`. */
function* filler(total: number, head: Buffer = Buffer.alloc(0)): Generator<Buffer> {
  yield head;
  const chunk = Buffer.alloc(MB, 0x41);
  for (let left = total - head.length; left > 0; left -= MB)
    yield left >= MB ? chunk : chunk.subarray(0, left);
}

let petA: string;
let photosA: string[];
let jobA: string;

describe('the real api under abuse', () => {
  it('auth: missing or invalid keys are 401; another owner’s pet, photos and job are 404', async () => {
    petA = stack.newPetId();
    photosA = await stack.uploadPhotos(petA, stack.newPhotos(2));
    jobA = (await stack.createJob(petA)).jobId;
    const routes: Array<[string, string]> = [
      ['POST', `/v1/pets/${petA}/photos`],
      ['POST', `/v1/pets/${petA}/clustering-jobs`],
      ['GET', `/v1/pets/${petA}/clusters`],
      ['GET', `/v1/jobs/${jobA}`],
    ];
    const bad: Array<[string, Record<string, string>]> = [
      ['no key', {}],
      ['wrong key', { authorization: `Bearer ${WRONG_KEY}` }],
      ['key without scheme', { authorization: KEY_A }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`a:${KEY_A}`).toString('base64')}` }],
      ['8 KB key', { authorization: `Bearer ${WRONG_KEY}${'k'.repeat(8_192)}` }],
      ['key plus junk', { authorization: `Bearer ${KEY_A} ${WRONG_KEY}` }],
    ];
    for (const [method, path] of routes) {
      for (const [name, headers] of bad) {
        const res = await send(apiUrl, method, path, { headers });
        expectProblem(res, 401, 'unauthorized', `${method} ${path} ${name}`);
        expect(res.headers['www-authenticate'], name).toMatch(/^Bearer/);
      }
    }

    // Owner B sees A's things exactly as things that do not exist.
    const unknownPet = await send(apiUrl, 'GET', `/v1/pets/${stack.newPetId()}/clusters`, { headers: B });
    expectProblem(unknownPet, 404, 'not_found', 'unknown pet');
    const theirs: Array<[string, string, Parameters<typeof send>[3]]> = [
      ['GET', `/v1/pets/${petA}/clusters`, { headers: B }],
      ['GET', `/v1/jobs/${jobA}`, { headers: B }],
      [
        'POST',
        `/v1/pets/${petA}/clustering-jobs`,
        { ...json({}), headers: { ...B, 'content-type': 'application/json' } },
      ],
      [
        'POST',
        `/v1/pets/${petA}/photos`,
        {
          headers: { ...B, 'content-type': 'multipart/form-data; boundary=b' },
          body: multipart([{ name: 'photos', filename: 'x.png', data: stack.newPhotos(1)[0]! }], 'b'),
        },
      ],
    ];
    for (const [method, path, options] of theirs) {
      const res = await send(apiUrl, method, path, options);
      expectProblem(res, 404, 'not_found', `B: ${method} ${path}`);
    }
    // B naming A's photo ids on B's own pet learns nothing either.
    const petB = stack.newPetId();
    await stack.uploadPhotos(petB, stack.newPhotos(1), KEY_B);
    const borrowed = await send(apiUrl, 'POST', `/v1/pets/${petB}/clustering-jobs`, {
      headers: { ...B, 'content-type': 'application/json' },
      body: JSON.stringify({ photoIds: photosA }),
    });
    expectProblem(borrowed, 422, 'unknown_photo_ids', "A's photo ids on B's pet");
    // A still owns everything: B's attempts changed nothing.
    expect((await send(apiUrl, 'GET', `/v1/jobs/${jobA}`, { headers: A })).status).toBe(200);
    expect(stack.api.logs()).toContainEqual(
      expect.objectContaining({ event: 'security_violation', reason: 'not_owner' }),
    );
  });

  it('ids that are not ids: 400 problems on every route', async () => {
    const petIds = [
      '-rex',
      'a'.repeat(65),
      `${ID_PROBE}%20x`,
      `${ID_PROBE}%00`,
      `..%2F..%2F${ID_PROBE}`,
      `${ID_PROBE}'%20OR%20'1'%3D'1`,
      `${ID_PROBE}%0d%0aset-cookie:%20x`,
      'r%C3%A9x',
      '%E0%A4%A',
    ];
    for (const id of petIds) {
      for (const [method, suffix, options] of [
        ['GET', 'clusters', { headers: A }],
        ['POST', 'clustering-jobs', json({})],
        [
          'POST',
          'photos',
          {
            headers: { ...A, 'content-type': 'multipart/form-data; boundary=b' },
            body: multipart([{ name: 'photos', filename: 'x.png', data: stack.newPhotos(1)[0]! }], 'b'),
          },
        ],
      ] as const) {
        const res = await send(apiUrl, method, `/v1/pets/${id}/${suffix}`, options);
        expect(res.status, `${method} ${id} ${suffix}`).toBe(400);
        expect(res.headers['content-type'], id).toMatch(/^application\/problem\+json/);
        expect(['invalid_id', 'invalid_request'], id).toContain(res.json?.code);
      }
    }
    for (const id of ['nope', '1234', `${jobA}x`, `${ID_PROBE}`, '%E0%A4%A', `${jobA}%00`, "1'%20OR%201=1"]) {
      const res = await send(apiUrl, 'GET', `/v1/jobs/${id}`, { headers: A });
      expect(res.status, id).toBe(400);
      expect(res.headers['content-type'], id).toMatch(/^application\/problem\+json/);
    }
    // A well-formed id of nothing, and routes that do not exist.
    expectProblem(
      await send(apiUrl, 'GET', '/v1/jobs/00000000-0000-4000-8000-000000000000', { headers: A }),
      404,
      'not_found',
      'unknown job',
    );
    for (const [method, path] of [
      ['DELETE', `/v1/jobs/${jobA}`],
      ['PUT', `/v1/pets/${petA}/photos`],
      ['GET', `/v1/pets/${petA}/photos/../../../../etc/passwd`],
      ['GET', '/v2/anything'],
    ]) {
      const res = await send(apiUrl, method!, path!, { headers: A });
      expectProblem(res, 404, 'not_found', `${method} ${path}`);
    }
  });

  it('bad JSON, unknown fields, wrong types, gzip bombs and a 50 MB JSON body: 4xx', async () => {
    const path = `/v1/pets/${petA}/clustering-jobs`;
    const raw = (body: string | Buffer, headers: Record<string, string> = {}) => ({
      headers: { ...A, 'content-type': 'application/json', ...headers },
      body,
    });
    const cases: Array<[string, Parameters<typeof send>[3], number, string]> = [
      ['truncated', raw('{"photoIds": ['), 400, 'invalid_json'],
      ['not an object', raw('"hello"'), 400, 'invalid_json'],
      ['trailing junk', raw('{} {}'), 400, 'invalid_json'],
      [
        'invalid utf-8',
        raw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
        400,
        'invalid_request',
      ],
      ['unknown field', json({ colour: 'red' }), 400, 'invalid_request'],
      ['__proto__', raw('{"__proto__": {"admin": true}}'), 400, 'invalid_request'],
      ['constructor', json({ constructor: { prototype: { admin: true } } }), 400, 'invalid_request'],
      ['array body', json([1, 2]), 400, 'invalid_request'],
      ['null body', raw('null'), 400, 'invalid_json'],
      ['photoIds not ids', json({ photoIds: ['one', `${ID_PROBE}`] }), 400, 'invalid_request'],
      ['photoIds empty', json({ photoIds: [] }), 400, 'invalid_request'],
      ['photoIds object', json({ photoIds: { 0: photosA[0] } }), 400, 'invalid_request'],
      ['callbackUrl number', json({ callbackUrl: 5 }), 400, 'invalid_request'],
      ['deep nesting', raw(`{"photoIds":${'['.repeat(5_000)}${']'.repeat(5_000)}}`), 400, 'invalid_request'],
      [
        'latin1 charset',
        raw('{}', { 'content-type': 'application/json; charset=iso-8859-1' }),
        415,
        'unsupported_media_type',
      ],
      ['text/plain', raw('{}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
      ['unknown encoding', raw('{}', { 'content-encoding': 'x-evil' }), 415, 'unsupported_media_type'],
      ['gzip garbage', raw('not gzip at all', { 'content-encoding': 'gzip' }), 400, 'invalid_request'],
      [
        'gzip bomb (50 MB of spaces inflated from ~50 KB)',
        raw(gzipSync(Buffer.alloc(50 * MB, 0x20)), { 'content-encoding': 'gzip' }),
        413,
        'payload_too_large',
      ],
      [
        'bad idempotency key',
        {
          ...json({}),
          headers: { ...A, 'content-type': 'application/json', 'idempotency-key': 'has spaces' },
        },
        400,
        'invalid_idempotency_key',
      ],
      [
        '50 MB, declared',
        {
          headers: { ...A, 'content-type': 'application/json', 'content-length': 50 * MB },
          body: () => filler(50 * MB, Buffer.from('{"x":"')),
        },
        413,
        'payload_too_large',
      ],
      [
        '50 MB, chunked',
        {
          headers: { ...A, 'content-type': 'application/json' },
          body: () => filler(50 * MB, Buffer.from('{"x":"')),
        },
        413,
        'payload_too_large',
      ],
    ];
    const before = await stack.redis.xlen(stack.keys.stream);
    for (const [name, options, status, code] of cases) {
      expectProblem(await send(apiUrl, 'POST', path, options), status, code, name);
    }
    // Nothing of it became a job.
    expect(await stack.redis.xlen(stack.keys.stream)).toBe(before);
  });

  it('multipart abuse: a 50 MB file, too many files, malformed bodies, aborted uploads: 4xx', async () => {
    const pet = stack.newPetId();
    stack.petIds.add(pet);
    const path = `/v1/pets/${pet}/photos`;
    const png = stack.newPhotos(1)[0]!;
    // Strings here are byte strings: latin1 keeps the PNG bytes as they are.
    const form = (boundary: string, body: Buffer | string) => ({
      headers: { ...A, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
    });
    const head = (boundary: string, filename: string) =>
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="photos"; filename="${filename}"\r\ncontent-type: image/jpeg\r\n\r\n\xff\xd8\xff`,
        'latin1',
      );
    const cases: Array<[string, Parameters<typeof send>[3], number, string]> = [
      [
        '50 MB file, declared length',
        {
          headers: {
            ...A,
            'content-type': 'multipart/form-data; boundary=big',
            'content-length': 50 * MB + 200,
          },
          body: () =>
            (function* () {
              const h = head('big', 'huge.jpg');
              const tail = Buffer.from('\r\n--big--\r\n');
              yield* filler(50 * MB + 200 - tail.length, h);
              yield tail;
            })(),
        },
        413,
        'file_too_large',
      ],
      [
        '50 MB file, chunked',
        {
          headers: { ...A, 'content-type': 'multipart/form-data; boundary=big' },
          body: () =>
            (function* () {
              yield* filler(50 * MB, head('big', 'huge.jpg'));
              yield Buffer.from('\r\n--big--\r\n');
            })(),
        },
        413,
        'file_too_large',
      ],
      [
        '51 files',
        form(
          'm',
          multipart(
            stack.newPhotos(51).map((data, i) => ({ name: 'photos', filename: `${i}.png`, data })),
            'm',
          ),
        ),
        413,
        'too_many_files',
      ],
      ['garbage with a boundary', form('xyz', 'this is not multipart at all'), 400, 'malformed_multipart'],
      ['unterminated part', form('xyz', head('xyz', 'a.jpg')), 400, 'malformed_multipart'],
      [
        'wrong boundary',
        form('abc', multipart([{ name: 'photos', filename: 'a.png', data: png }], 'xyz')),
        400,
        'malformed_multipart',
      ],
      [
        'empty boundary',
        form('', multipart([{ name: 'photos', filename: 'a.png', data: png }], '')),
        400,
        'malformed_multipart',
      ],
      [
        'no boundary',
        { headers: { ...A, 'content-type': 'multipart/form-data' }, body: 'x' },
        415,
        'unsupported_media_type',
      ],
      ['json instead', json({ photos: [] }), 415, 'unsupported_media_type'],
      [
        'a text field',
        form(
          't',
          multipart(
            [
              { name: 'note', data: 'hi' },
              { name: 'photos', filename: 'a.png', data: png },
            ],
            't',
          ),
        ),
        400,
        'malformed_multipart',
      ],
      [
        'a file in another field',
        form('f', multipart([{ name: 'photo', filename: 'a.png', data: png }], 'f')),
        400,
        'malformed_multipart',
      ],
      ['an empty form', form('e', '--e--\r\n'), 400, 'no_files'],
      [
        'part without disposition',
        form('d', `--d\r\ncontent-type: image/png\r\n\r\n${png.toString('latin1')}\r\n--d--\r\n`),
        400,
        'no_files',
      ],
      [
        'a 100 KB part header',
        form(
          'h',
          `--h\r\ncontent-disposition: form-data; name="photos"; filename="a.png"\r\nx-junk: ${'j'.repeat(100 * 1024)}\r\n\r\n${png.toString('latin1')}\r\n--h--\r\n`,
        ),
        400,
        'malformed_multipart',
      ],
      [
        'nested multipart/mixed',
        form(
          'n',
          `--n\r\ncontent-disposition: form-data; name="photos"\r\ncontent-type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\ncontent-disposition: file; filename="a.png"\r\n\r\n${png.toString('latin1')}\r\n--inner--\r\n--n--\r\n`,
        ),
        400,
        'malformed_multipart',
      ],
      [
        'a 10 KB file name on a text file',
        form(
          'l',
          multipart(
            [{ name: 'photos', filename: `${FILENAME_PROBE}${'n'.repeat(10_000)}.jpg`, data: 'just text' }],
            'l',
          ),
        ),
        415,
        'unsupported_type',
      ],
    ];
    for (const [name, options, status, code] of cases) {
      expectProblem(await send(apiUrl, 'POST', path, options), status, code, name);
    }
    // An upload the client drops half-way gets no answer and breaks nothing.
    const body = multipart([{ name: 'photos', filename: 'a.png', data: png }], 'q');
    await abortedUpload(
      apiUrl,
      path,
      { ...A, 'content-type': 'multipart/form-data; boundary=q', 'content-length': body.length },
      body.subarray(0, body.length >> 1),
    );
    // None of it claimed the pet or stored a photo: a job for it is 404 (no such pet).
    expectProblem(
      await send(apiUrl, 'POST', `/v1/pets/${pet}/clustering-jobs`, json({})),
      404,
      'not_found',
      'after',
    );
    // A path-like file name is only a name: the upload is stored by content.
    const named = await send(
      apiUrl,
      'POST',
      path,
      form(
        'p',
        multipart([{ name: 'photos', filename: `../../../../tmp/${FILENAME_PROBE}.png`, data: png }], 'p'),
      ),
    );
    expect(named.status, named.text).toBe(201);
    expect(stack.api.logs().filter((l) => l.event === 'http_request' && Number(l.status) >= 500)).toEqual([]);
  }, 60_000);

  it('64 KB headers, a 64 KB URL and unparsable requests: 4xx problems from the HTTP layer', async () => {
    const huge = `${HEADER_PROBE}${'h'.repeat(64 * 1024)}`;
    const cases: Array<[string, () => Promise<Reply>, number]> = [
      [
        '64 KB header',
        () => send(apiUrl, 'GET', `/v1/jobs/${jobA}`, { headers: { ...A, 'x-junk': huge } }),
        431,
      ],
      [
        '64 KB authorization',
        () => send(apiUrl, 'GET', `/v1/jobs/${jobA}`, { headers: { authorization: `Bearer ${huge}` } }),
        431,
      ],
      ['64 KB URL', () => send(apiUrl, 'GET', `/v1/jobs/${huge}`, { headers: A }), 431],
      [
        '500 headers of 100 B',
        () =>
          send(apiUrl, 'GET', '/health', {
            headers: Object.fromEntries(
              Array.from({ length: 500 }, (_, i) => [`x-${i}`, `${HEADER_PROBE}${'v'.repeat(80)}`]),
            ),
          }),
        431,
      ],
      ['garbage request line', () => sendRaw(apiUrl, `GARBAGE ${HEADER_PROBE}\r\n\r\n`), 400],
      [
        'NUL in a header',
        () => sendRaw(apiUrl, `GET /health HTTP/1.1\r\nhost: x\r\nx-a: a\0${HEADER_PROBE}\r\n\r\n`),
        400,
      ],
      [
        'conflicting lengths',
        () =>
          sendRaw(
            apiUrl,
            'POST /health HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
          ),
        400,
      ],
      [
        'bad chunk size',
        () =>
          sendRaw(
            apiUrl,
            `POST /v1/pets/${petA}/clustering-jobs HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY_A}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
          ),
        400,
      ],
    ];
    for (const [name, run, status] of cases) {
      const res = await run();
      expect(res.status, `${name}: ${res.text.slice(0, 200)}`).toBe(status);
      expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      expect(res.json, name).toMatchObject({ status, type: expect.stringContaining(PROBLEMS) });
    }
  });

  it('the whole bad-upload corpus gets its manifest outcome, and the accepted files cluster', async () => {
    const pet = stack.newPetId();
    stack.petIds.add(pet);
    const accepted: string[] = [];
    for (const entry of corpus) {
      const data = readPhotoFixture(entry);
      const res = await send(apiUrl, 'POST', `/v1/pets/${pet}/photos`, {
        headers: { ...A, 'content-type': 'multipart/form-data; boundary=c' },
        body: multipart([{ name: 'photos', filename: 'upload.bin', data }], 'c'),
      });
      if (entry.expect === 'accept') {
        expect(res.status, `${entry.file}: ${res.text}`).toBe(201);
        const [photo] = (res.json as { photos: Record<string, unknown>[] }).photos;
        expect(photo, entry.file).toMatchObject({
          sha256: entry.sha256,
          width: entry.width,
          height: entry.height,
        });
        accepted.push(photo!.id as string);
      } else {
        expect(res.status, entry.file).toBeGreaterThanOrEqual(400);
        expect(res.status, entry.file).toBeLessThan(500);
        expect(res.headers['content-type'], entry.file).toMatch(/^application\/problem\+json/);
        expect(res.json, entry.file).toMatchObject({
          type: `${PROBLEMS}${entry.reason}`,
          reason: entry.reason,
          file: 'upload.bin',
          index: 0,
        });
      }
    }
    expect(accepted).toHaveLength(corpus.filter((e) => e.expect === 'accept').length);
    // The odd-but-valid photos (CMYK, 16-bit grey, EXIF-rotated, 1 px, trailing bytes, a decoder
    // warning) cluster too: the worker decodes every photo the api admitted, none fails.
    const { jobId } = await stack.createJob(pet);
    const rows = await stack.waitForJobs([jobId]);
    expect(rows.get(jobId)).toMatchObject({ status: 'succeeded', error: null });
    const { rows: members } = await stack.db.query<{ photo_id: string }>(
      'SELECT photo_id::text FROM cluster_members WHERE job_id = $1',
      [jobId],
    );
    expect(members.map((m) => m.photo_id).sort()).toEqual([...accepted].sort());
  });

  it('SSRF at creation: callbacks to other hosts, IP literals, other schemes and userinfo tricks are 422', async () => {
    const q = `?${SSRF_PROBE}=1`;
    const refused = [
      `http://evil.example.com/x${q}`,
      `http://hooks.example.test.evil.net/x${q}`,
      `http://evil.net/hooks.example.test${q}`,
      `http://127.0.0.1/x${q}`,
      `http://127.0.0.1:6379/x${q}`,
      `http://127.0.0.1:${trap.port}/x${q}`,
      `http://localhost:${hook.port}/x${q}`,
      `http://[::1]:${hook.port}/x${q}`,
      // The IPv4-mapped spelling is the same address: allowed only where 127.0.0.1 is (that port).
      `http://[::ffff:127.0.0.1]:${trap.port}/x${q}`,
      `http://[::ffff:a9fe:a9fe]/latest/meta-data/${q}`, // 169.254.169.254, mapped
      `http://169.254.169.254/latest/meta-data/${q}`,
      `http://2852039166/latest/meta-data/${q}`, // 169.254.169.254 in decimal
      `http://0xa9fea9fe/latest/meta-data/${q}`, // ... in hex
      `http://0251.0376.0251.0376/${q}`, // ... in octal
      `http://0/${q}`,
      `http://10.0.0.1/${q}`,
      `http://2130706433/${q}`, // 127.0.0.1 without the allowed port
      `ftp://hooks.example.test/x${q}`,
      `file:///etc/passwd${q}`,
      `gopher://hooks.example.test:70/x${q}`,
      `javascript:alert(1)//${q}`,
      `data:text/plain,hooks.example.test${q}`,
      `ws://hooks.example.test/x${q}`,
      `http://user:pass@hooks.example.test/x${q}`,
      `http://hooks.example.test@169.254.169.254/x${q}`,
      `http://${SSRF_PROBE}@hooks.example.test/x`,
      `http://169.254.169.254#@hooks.example.test/${q}`,
      `http://hooks.exаmple.test/x${q}`, // Cyrillic а
      `hooks.example.test/x${q}`,
      `//hooks.example.test/x${q}`,
      `http://hooks.example.test:99999/x${q}`,
    ];
    const before = await stack.redis.xlen(stack.keys.stream);
    for (const callbackUrl of refused) {
      const res = await send(apiUrl, 'POST', `/v1/pets/${petA}/clustering-jobs`, json({ callbackUrl }));
      expectProblem(res, 422, 'invalid_callback_url', callbackUrl);
    }
    expect(await stack.redis.xlen(stack.keys.stream)).toBe(before);
    expect(trap.requests).toEqual([]);
  });

  it('SSRF at delivery: an allowed callback is called once in the job’s trace; redirects are never followed', async () => {
    const trapUrl = `${trap.url}/stolen?${CALLBACK_TOKEN}`;
    hook.answer((h, res) => {
      const path = h.path.split('?')[0];
      if (path === '/redirect-host') res.writeHead(307, { location: trapUrl }).end();
      else if (path === '/redirect-scheme') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      else if (path === '/redirect-metadata')
        res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else res.writeHead(204).end();
    });
    const paths = ['/ok', '/redirect-host', '/redirect-scheme', '/redirect-metadata'];
    const jobs: { path: string; jobId: string; traceId: string }[] = [];
    for (const path of paths) {
      const callbackUrl = `${hook.url}${path}?token=${CALLBACK_TOKEN}`;
      jobs.push({ path, ...(await stack.createJob(petA, { callbackUrl })) });
    }
    const rows = await stack.waitForJobs(jobs.map((j) => j.jobId));
    for (const job of jobs) expect(rows.get(job.jobId)?.status, job.path).toBe('succeeded');
    // Delivery ends (delivered or given up) after the result is written.
    await waitFor(
      () => {
        const ended = stack
          .logs()
          .filter(
            (l) =>
              (l.event === 'webhook_delivered' || l.event === 'webhook_failed') &&
              jobs.some((j) => j.jobId === l.job_id),
          );
        return ended.length === jobs.length ? ended : undefined;
      },
      { timeoutMs: 20_000, what: 'every webhook to be delivered or given up' },
    );
    const ok = jobs.find((j) => j.path === '/ok')!;
    expect(hook.hits('/ok')).toHaveLength(1);
    const delivered = hook.hits('/ok')[0]!;
    expect(JSON.parse(delivered.body)).toMatchObject({ jobId: ok.jobId, status: 'succeeded' });
    expect(delivered.headers.traceparent).toContain(ok.traceId);
    for (const path of paths.slice(1)) expect(hook.hits(path).length, path).toBeGreaterThanOrEqual(1);
    expect(trap.requests).toEqual([]);
    const failed = stack.logs().filter((l) => l.event === 'webhook_failed');
    expect(failed).toHaveLength(3);
    for (const line of failed)
      expect(line).toMatchObject({ reason: 'http_status', detail: expect.stringMatching(/^HTTP 30[127]$/) });
  }, 60_000);

  it('afterwards the api is alive, healthy and ready, answered no 5xx, and telemetry holds no secrets', async () => {
    expect(stack.api.child.exitCode).toBeNull();
    expect(stack.api.child.signalCode).toBeNull();
    for (const path of ['/health', '/ready']) {
      expect((await fetch(`${apiUrl}${path}`)).status, path).toBe(200);
      expect((await fetch(`${stack.apiMetricsUrl}${path}`)).status, `metrics ${path}`).toBe(200);
    }
    for (const worker of stack.workers) {
      expect(worker.proc.child.exitCode).toBeNull();
      const ready = await fetch(`${worker.metricsUrl}/ready`);
      expect(ready.status).toBe(200);
      // Ready means consuming, not only connected.
      expect(await ready.json()).toEqual({
        ok: true,
        checks: { consumer: 'ok', redis: 'ok', postgres: 'ok' },
      });
    }
    // Still does its job: a normal upload and job go through.
    const [job] = await stack.seedJobs(1);
    expect((await stack.waitForJobs([job!.jobId])).get(job!.jobId)?.status).toBe('succeeded');

    const serverErrors = stack
      .logs()
      .filter((l) => (l.event === 'http_request' || l.event === 'http_error') && Number(l.status) >= 500);
    expect(serverErrors).toEqual([]);
    expect(stack.logs().filter((l) => Number(l.level) >= 50)).toEqual([]);
    // Looks once the last job's processing has arrived too.
    const spans = [{ traceId: job!.traceId, name: /^process / }];
    expect(await telemetryLeaks(stack, { secrets: SECRETS, spans })).toEqual([]);
  }, 60_000);
});
