import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { validate as validateOpenApi } from '@hyperjump/json-schema/openapi-3-1';
import { createFsBlobStore, markJobRunning, saveJobResult } from '@media-cluster/db';
import { createProducer, queueNames } from '@media-cluster/queue';
import { badUploadCorpus, freePort, readPhotoFixture, uniqueName } from '@media-cluster/testkit';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AppDeps, createApp } from '../src/app.js';
import { buildOpenApiDocument, renderOpenApiDocument } from '../src/contract/openapi.js';
import { OPERATIONS } from '../src/contract/operations.js';
import { clientErrorHandler } from '../src/http/client-error.js';
import { type Answer, createConformance, send, sendRaw } from './conformance.js';
import { ALICE_KEY, BOB_KEY, type Harness, memoryLogger, startHarness } from './harness.js';

const COMMITTED = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
const OAS_31 = 'https://spec.openapis.org/oas/3.1/schema-base';
const alice = { authorization: `Bearer ${ALICE_KEY}` };
const bob = { authorization: `Bearer ${BOB_KEY}` };
const photo = readFileSync(new URL('../demo-photos/chelsea-01.jpg', import.meta.url));
const corpusFile = (name: string) =>
  readPhotoFixture(badUploadCorpus().find((f) => f.file === `bad/${name}`)!);

const document = buildOpenApiDocument();

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1: the official schema, Schema Objects against the 3.1 dialect', async () => {
    const output = await validateOpenApi(OAS_31, document as never, 'BASIC');
    const errors = output.valid ? [] : (output.errors ?? []).slice(0, 10);
    expect(errors, 'validation errors').toEqual([]);
    expect(output.valid).toBe(true);
    // The validator does refuse a broken document.
    const broken = { ...document, info: { title: 'no version' } };
    expect((await validateOpenApi(OAS_31, broken as never)).valid).toBe(false);
  });

  it('is committed as docs/openapi.json, up to date', () => {
    expect(
      readFileSync(COMMITTED, 'utf8'),
      'docs/openapi.json is stale: run pnpm --filter @media-cluster/api openapi',
    ).toBe(renderOpenApiDocument(document));
  });

  it('documents exactly the routes the app serves', async () => {
    const h = await startHarness();
    try {
      const router = (h.app as unknown as { router: { stack: RouterLayer[] } }).router;
      const served = router.stack
        .filter((layer) => layer.route)
        .flatMap((layer) =>
          Object.keys(layer.route!.methods).map(
            (method) => `${method} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`,
          ),
        );
      expect(served.sort()).toEqual(OPERATIONS.map((op) => `${op.method} ${op.path}`).sort());
    } finally {
      await h.close();
    }
  });
});

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Documented answers a route's test need not produce, and why. */
const NOT_PRODUCIBLE: Record<number, string> = {
  408: 'the parser’s timeout, the same on every route (produced on /health)',
  500: 'no way to make this route fail short of a bug',
};

describe('every route answers as documented', () => {
  // Fresh per test: each test proves its own operation's answers.
  let conformance = createConformance(document);
  beforeEach(() => {
    conformance = createConformance(document);
  });
  const servers: Server[] = [];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  let h: Harness;
  let base: string;
  /** The same app on a server that gives up on a request after 1 s (the 408 probe). */
  let impatient: string;
  /** The app on a Postgres nobody listens on (a closed port). */
  let noDatabase: string;
  /** Another app whose limits are one request an hour and a backlog ceiling of one job. */
  let tightHarness: Harness;
  let tight: string;

  /** Listens like main.ts does: the parser's refusals answered as problems. */
  async function serve(app: Express, options: { requestTimeoutMs?: number } = {}): Promise<string> {
    const timeout = options.requestTimeoutMs ?? 300_000;
    const server = createServer(
      {
        requestTimeout: timeout,
        headersTimeout: Math.min(timeout, 30_000),
        connectionsCheckingInterval: 100,
      },
      app,
    );
    server.on('clientError', clientErrorHandler(memoryLogger().logger));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const variant = (deps: Partial<AppDeps>, options?: { requestTimeoutMs?: number }) =>
    serve(createApp({ ...h.deps, ...deps }), options);

  beforeAll(async () => {
    h = await startHarness();
    base = await serve(h.app);
    impatient = await variant({}, { requestTimeoutMs: 1_000 });
    const deadDb = new pg.Pool({
      connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/none`,
      connectionTimeoutMillis: 2_000,
    });
    deadDb.on('error', () => {});
    cleanups.push(() => deadDb.end());
    noDatabase = await variant({ db: deadDb });
    tightHarness = await startHarness({
      env: {
        RATE_LIMIT_JOBS: '1/h',
        RATE_LIMIT_JOBS_BURST: '1',
        RATE_LIMIT_UPLOADS: '1/h',
        RATE_LIMIT_UPLOADS_BURST: '1',
        RATE_LIMIT_AUTH_FAILURES: '1/h',
        RATE_LIMIT_AUTH_FAILURES_BURST: '1',
        JOB_BACKLOG_CEILING: '1',
      },
    });
    cleanups.push(() => tightHarness.close());
    tight = await serve(tightHarness.app);
  });

  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    for (const cleanup of cleanups.reverse()) await cleanup();
    await h?.close();
  });

  /** Asserts `answer` conforms as an answer of `METHOD path`, and returns it. */
  function conforms(method: string, path: string, answer: Answer): Answer {
    expect(conformance.check(method.toLowerCase(), path, answer)).toEqual([]);
    return answer;
  }

  /** Every documented answer of the operation was seen, except the ones named (with why). */
  function expectAllAnswersSeen(operationId: string, notHere: Record<number, string> = NOT_PRODUCIBLE) {
    const missing = conformance
      .declared(operationId)
      .filter((key) => !conformance.seen.has(key) && !(Number(key.split(' ').at(-1)) in notHere));
    expect(missing, `answers of ${operationId} documented but never produced`).toEqual([]);
  }

  /** The parser's refusals, on this path: headers over 16 KB (431), and a garbled header (400). */
  async function parserRefusals(method: string, template: string, path: string) {
    const big = await send(base, method, path, { headers: { 'x-padding': 'x'.repeat(20_000) } });
    expect(conforms(method, template, big).status).toBe(431);
    const garbled = await sendRaw(base, `${method} ${path} HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n`);
    expect(conforms(method, template, garbled).status).toBe(400);
  }

  /**
   * A read of alice's resource refused every way: a malformed id (400), no key
   * (401), bob's key (404), and the database down (503); then the parser's.
   */
  async function readRefusals(template: string, path: string, malformedPath: string) {
    const refusals: [Promise<Answer>, number][] = [
      [send(base, 'GET', malformedPath, { headers: alice }), 400],
      [send(base, 'GET', path), 401],
      [send(base, 'GET', path, { headers: bob }), 404],
      [send(noDatabase, 'GET', path, { headers: alice }), 503],
    ];
    for (const [answer, status] of refusals)
      expect(conforms('GET', template, await answer).status).toBe(status);
    await parserRefusals('GET', template, path);
  }

  /**
   * Wrong keys from this address on the tight app until its failed-authentication
   * bucket (one an hour) is spent: 429 `too_many_auth_failures`, in any test order.
   */
  async function authFailuresLimited(method: string, template: string, path: string) {
    const wrong = { authorization: 'Bearer wrong-key-0123456789' };
    let answer = await send(tight, method, path, { headers: wrong });
    if (answer.status === 401) answer = await send(tight, method, path, { headers: wrong });
    conforms(method, template, answer);
    expect([answer.status, JSON.parse(answer.text).code]).toEqual([429, 'too_many_auth_failures']);
  }

  /** A pet of alice's with one photo; returns the pet id and the photo id. */
  async function alicesPet(): Promise<{ petId: string; photoId: string }> {
    const petId = uniqueName('pet');
    const form = new FormData();
    form.append('photos', new Blob([photo]), 'a.jpg');
    const res = await fetch(`${base}/v1/pets/${petId}/photos`, {
      method: 'POST',
      headers: alice,
      body: form,
    });
    expect(res.status).toBe(201);
    const { photos } = (await res.json()) as { photos: { id: string }[] };
    return { petId, photoId: photos[0]!.id };
  }

  /** A multipart body of `files` in the field `photos`. */
  function multipart(files: { name: string; data: Buffer }[], field = 'photos') {
    const boundary = `b${uniqueName('x')}`;
    const parts = files.map(({ name, data }) =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        data,
        Buffer.from('\r\n'),
      ]),
    );
    return {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]),
    };
  }

  it('GET /health: 200, and the parser’s refusals (400, 408, 431)', async () => {
    const path = '/health';
    expect(conforms('GET', path, await send(base, 'GET', path)).status).toBe(200);
    await parserRefusals('GET', path, path);
    // A client that stops sending half-way through its headers.
    const stalled = await sendRaw(impatient, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(conforms('GET', path, stalled).status).toBe(408);
    expectAllAnswersSeen('getHealth', { 500: NOT_PRODUCIBLE[500]! });
  });

  it('GET /ready: 200, 503 naming what is missing', async () => {
    const path = '/ready';
    expect(conforms('GET', path, await send(base, 'GET', path)).status).toBe(200);
    const noRedis = await variant({ redis: undefined });
    const down = conforms('GET', path, await send(noRedis, 'GET', path));
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text).failed).toEqual(['redis']);
    await parserRefusals('GET', path, path);
    expectAllAnswersSeen('getReady');
  });

  it('GET /v1/openapi.json: this document, without an API key', async () => {
    const path = '/v1/openapi.json';
    const res = conforms('GET', path, await send(base, 'GET', path));
    expect(res.status).toBe(200);
    expect(res.text).toBe(readFileSync(COMMITTED, 'utf8'));
    await parserRefusals('GET', path, path);
    expectAllAnswersSeen('getOpenApi');
  });

  it('POST /v1/pets/{petId}/photos: 201 and every refusal', async () => {
    const template = '/v1/pets/{petId}/photos';
    const petId = uniqueName('pet');
    const path = `/v1/pets/${petId}/photos`;
    const upload = (url: string, files: { name: string; data: Buffer }[], headers = alice, at = path) => {
      const { headers: type, body } = multipart(files);
      return send(url, 'POST', at, { headers: { ...headers, ...type }, body });
    };
    const ok = conforms('POST', template, await upload(base, [{ name: 'a.jpg', data: photo }]));
    expect(ok.status).toBe(201);
    const refusals: [Promise<Answer>, number, string][] = [
      [upload(base, [{ name: 'a.jpg', data: photo }], alice, '/v1/pets/-nope/photos'), 400, 'invalid_id'],
      [upload(base, [{ name: 'a.jpg', data: photo }], {} as typeof alice), 401, 'unauthorized'],
      [upload(base, [{ name: 'a.jpg', data: photo }], bob), 404, 'not_found'],
      [
        upload(
          base,
          Array.from({ length: h.config.MAX_PHOTOS + 1 }, (_, i) => ({ name: `${i}.jpg`, data: photo })),
        ),
        413,
        'too_many_files',
      ],
      [upload(base, [{ name: 'a.jpg', data: corpusFile('text.jpg') }]), 415, 'unsupported_type'],
      [
        send(base, 'POST', path, { headers: { ...alice, 'content-type': 'application/json' }, body: '{}' }),
        415,
        'unsupported_media_type',
      ],
      [upload(base, [{ name: 'a.jpg', data: corpusFile('truncated.jpg') }]), 422, 'corrupt'],
      [upload(noDatabase, [{ name: 'a.jpg', data: photo }]), 503, 'database_unavailable'],
    ];
    for (const [answer, status, code] of refusals) {
      const res = conforms('POST', template, await answer);
      expect([res.status, JSON.parse(res.text).code]).toEqual([status, code]);
    }
    // A blob store that cannot store: a bug-shaped failure, answered as a 500 problem.
    const brokenStore = await variant({
      blobs: createFsBlobStore({ dir: `${fileURLToPath(import.meta.url)}/under-a-file` }),
    });
    const broken = conforms(
      'POST',
      template,
      await upload(
        brokenStore,
        [{ name: 'a.jpg', data: photo }],
        alice,
        `/v1/pets/${uniqueName('pet')}/photos`,
      ),
    );
    expect(broken.status).toBe(500);
    // One upload an hour per owner on the tight app: the second is refused before its body is read.
    const tightPath = `/v1/pets/${uniqueName('pet')}/photos`;
    await upload(tight, [{ name: 'a.jpg', data: photo }], alice, tightPath);
    const limited = conforms(
      'POST',
      template,
      await upload(tight, [{ name: 'a.jpg', data: photo }], alice, tightPath),
    );
    expect([limited.status, JSON.parse(limited.text).code]).toEqual([429, 'rate_limited']);
    await parserRefusals('POST', template, path);
    expectAllAnswersSeen('uploadPhotos', { 408: NOT_PRODUCIBLE[408]! });
  });

  it('POST /v1/pets/{petId}/clustering-jobs: 202 with Location, and every refusal', async () => {
    const template = '/v1/pets/{petId}/clustering-jobs';
    const { petId, photoId } = await alicesPet();
    const path = `/v1/pets/${petId}/clustering-jobs`;
    const post = (url: string, body: unknown, headers: Record<string, string> = alice, at = path) =>
      send(url, 'POST', at, {
        headers: { ...headers, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const key = uniqueName('idem');
    const created = conforms(
      'POST',
      template,
      await post(base, { photoIds: [photoId] }, { ...alice, 'idempotency-key': key }),
    );
    expect(created.status).toBe(202);
    expect(created.headers.location).toBe(`/v1/jobs/${JSON.parse(created.text).jobId}`);

    const deadRedis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    deadRedis.on('error', () => {});
    cleanups.push(() => deadRedis.disconnect());
    const noQueue = await variant({
      producer: createProducer({ redis: deadRedis, names: queueNames(uniqueName('dead')) }),
    });
    const refusals: [Promise<Answer>, number, string][] = [
      [post(base, { colour: 'red' }), 400, 'invalid_request'],
      [post(base, {}, alice, '/v1/pets/-nope/clustering-jobs'), 400, 'invalid_id'],
      [post(base, {}, {}), 401, 'unauthorized'],
      [post(base, {}, bob), 404, 'not_found'],
      [post(base, {}, { ...alice, 'idempotency-key': key }), 409, 'idempotency_conflict'],
      [
        post(base, { callbackUrl: `https://hooks.example.com/${'x'.repeat(h.config.MAX_JSON_BYTES)}` }),
        413,
        'payload_too_large',
      ],
      [
        send(base, 'POST', path, { headers: { ...alice, 'content-type': 'text/plain' }, body: 'hello' }),
        415,
        'unsupported_media_type',
      ],
      [post(base, { callbackUrl: 'http://169.254.169.254/latest' }), 422, 'invalid_callback_url'],
      [post(noQueue, {}), 503, 'queue_unavailable'],
      [post(noDatabase, {}), 503, 'database_unavailable'],
    ];
    for (const [answer, status, code] of refusals) {
      const res = conforms('POST', template, await answer);
      expect([res.status, JSON.parse(res.text).code]).toEqual([status, code]);
    }
    // The tight app: bob's job fills its backlog of one; alice's next is shed (503 queue_full),
    // and the one after that finds her bucket of one job an hour empty (429 rate_limited).
    const bobsPet = uniqueName('pet');
    const form = multipart([{ name: 'a.jpg', data: photo }]);
    await send(tight, 'POST', `/v1/pets/${bobsPet}/photos`, {
      headers: { ...bob, ...form.headers },
      body: form.body,
    });
    expect((await post(tight, {}, bob, `/v1/pets/${bobsPet}/clustering-jobs`)).status).toBe(202);
    const shed = conforms('POST', template, await post(tight, {}));
    expect([shed.status, JSON.parse(shed.text).code]).toEqual([503, 'queue_full']);
    const limited = conforms('POST', template, await post(tight, {}));
    expect([limited.status, JSON.parse(limited.text).code]).toEqual([429, 'rate_limited']);
    await parserRefusals('POST', template, path);
    expectAllAnswersSeen('createClusteringJob');
  });

  it('GET /v1/jobs/{jobId}: 200 with an ETag, 304 while unchanged, and every refusal', async () => {
    const template = '/v1/jobs/{jobId}';
    const { petId } = await alicesPet();
    const job = await send(base, 'POST', `/v1/pets/${petId}/clustering-jobs`, { headers: alice });
    const path = `/v1/jobs/${JSON.parse(job.text).jobId}`;
    const first = conforms('GET', template, await send(base, 'GET', path, { headers: alice }));
    expect(first.status).toBe(200);
    const again = await send(base, 'GET', path, {
      headers: { ...alice, 'if-none-match': String(first.headers.etag) },
    });
    expect(conforms('GET', template, again).status).toBe(304);
    await readRefusals(template, path, '/v1/jobs/not-a-uuid');
    await authFailuresLimited('GET', template, path);
    expectAllAnswersSeen('getClusteringJob');
  });

  it('GET /v1/pets/{petId}/clusters: 200 once a job succeeded, and every refusal', async () => {
    const template = '/v1/pets/{petId}/clusters';
    const { petId, photoId } = await alicesPet();
    const path = `/v1/pets/${petId}/clusters`;
    const none = conforms('GET', template, await send(base, 'GET', path, { headers: alice }));
    expect(none.status).toBe(404);
    const job = JSON.parse(
      (await send(base, 'POST', `/v1/pets/${petId}/clustering-jobs`, { headers: alice })).text,
    );
    await markJobRunning(h.db, job.jobId, 1);
    await saveJobResult(h.db, job.jobId, [{ heroPhotoId: photoId, photoIds: [photoId] }]);
    expect(conforms('GET', template, await send(base, 'GET', path, { headers: alice })).status).toBe(200);
    await readRefusals(template, path, '/v1/pets/-nope/clusters');
    await authFailuresLimited('GET', template, path);
    expectAllAnswersSeen('getPetClusters');
  });

  it('an answer that breaks the document is caught', () => {
    const wrong: Answer = {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-request-id': 'r' },
      text: JSON.stringify({ status: 'fine' }),
    };
    expect(conformance.check('get', '/health', wrong).join('\n')).toMatch(/body/);
    expect(conformance.check('get', '/health', { ...wrong, status: 418 }).join('\n')).toMatch(
      /not documented/,
    );
    const noRequestId = {
      ...wrong,
      headers: { 'content-type': 'application/json' },
      text: '{"status":"ok"}',
    };
    expect(conformance.check('get', '/health', noRequestId).join('\n')).toMatch(/X-Request-Id missing/);
  });
});
