import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { PROBLEM_BASE } from '../src/errors.js';
import { ALICE_KEY, alice, bob, type Harness, startHarness } from './harness.js';
import { metricsUnderTest } from './metrics-reader.js';

const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
beforeAll(() => {
  trace.setGlobalTracerProvider(tracerProvider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  await tracerProvider.shutdown();
  trace.disable();
  context.disable();
});

const PHOTO = readFileSync(new URL('../demo-photos/chelsea-01.jpg', import.meta.url));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  spans.reset();
});

/**
 * What @opentelemetry/instrumentation-http and -express do around a request:
 * a SERVER span recorded as RPC metadata, then a middleware span made active.
 */
function tracedHandler(app: (req: IncomingMessage, res: ServerResponse) => void) {
  const tracer = trace.getTracer('test-http');
  return (req: IncomingMessage, res: ServerResponse) => {
    const server = tracer.startSpan('POST', { kind: SpanKind.SERVER });
    res.once('finish', () => server.end());
    const ctx = setRPCMetadata(trace.setSpan(context.active(), server), { type: RPCType.HTTP, span: server });
    context.with(ctx, () => {
      tracer.startActiveSpan('middleware - query', (middleware) => {
        middleware.end();
        app(req, res);
      });
    });
  };
}

describe('traces, request ids, logs and metrics', () => {
  it('sends traceresponse of the SERVER span (not the active middleware span) and stores its trace id on the job', async () => {
    h = await startHarness();
    const server = createServer(tracedHandler(h.app));
    await request(server).post('/v1/pets/rex/photos').set(alice).attach('photos', PHOTO, 'a.jpg').expect(201);
    const res = await request(server).post('/v1/pets/rex/clustering-jobs').set(alice).send({}).expect(202);

    const header = res.headers.traceresponse!;
    expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const [, traceId, spanId] = header.split('-');
    const serverSpan = spans.getFinishedSpans().find((s) => s.spanContext().spanId === spanId);
    expect(serverSpan?.kind).toBe(SpanKind.SERVER);
    expect(res.body.traceId).toBe(traceId);
    // The producer's span joined the request's trace.
    expect(
      spans
        .getFinishedSpans()
        .some((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === traceId),
    ).toBe(true);
  });

  it('logs correlation_id = trace id on request lines', async () => {
    h = await startHarness();
    const server = createServer(tracedHandler(h.app));
    const res = await request(server).get('/health').expect(200);
    const traceId = res.headers.traceresponse!.split('-')[1];
    expect(h.logs.find((l) => l.event === 'http_request')).toMatchObject({ correlation_id: traceId });
  });

  it('has no traceresponse without an active span', async () => {
    h = await startHarness();
    const res = await request(h.app).get('/health').expect(200);
    expect(res.headers.traceresponse).toBeUndefined();
  });

  it('keeps a sane X-Request-Id, replaces an insane one, and quotes it in problems', async () => {
    h = await startHarness();
    const kept = await request(h.app).get('/health').set('x-request-id', 'abc-123.XYZ').expect(200);
    expect(kept.headers['x-request-id']).toBe('abc-123.XYZ');
    const replaced = await request(h.app)
      .get('/health')
      .set('x-request-id', 'bad id\twith spaces')
      .expect(200);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const problem = await request(h.app).get('/v1/nope').set('x-request-id', 'req-42').expect(404);
    expect(problem.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(problem.body).toMatchObject({
      type: `${PROBLEM_BASE}not_found`,
      title: 'Not found',
      status: 404,
      instance: '/v1/nope',
      requestId: 'req-42',
    });
  });

  it('writes http_request / http_error / job_created lines with route templates, never pet ids or keys', async () => {
    h = await startHarness();
    const petId = 'secret-pet-name-77';
    await request(h.app)
      .post(`/v1/pets/${petId}/photos`)
      .set(alice)
      .attach('photos', PHOTO, 'a.jpg')
      .expect(201);
    await request(h.app).post(`/v1/pets/${petId}/clustering-jobs`).set(alice).send({ bogus: 1 }).expect(400);
    const job = await request(h.app)
      .post(`/v1/pets/${petId}/clustering-jobs`)
      .set(alice)
      .send({})
      .expect(202);
    await request(h.app).get(`/v1/pets/${petId}/clusters`).set(bob).expect(404);

    const requests = h.logs.filter((l) => l.event === 'http_request');
    expect(requests[0]).toMatchObject({
      method: 'POST',
      route: '/v1/pets/:petId/photos',
      status: 201,
      duration_ms: expect.any(Number),
      bytes_in: expect.any(Number),
      bytes_out: expect.any(Number),
      request_id: expect.any(String),
    });
    expect((requests[0]!.bytes_in as number) > PHOTO.length).toBe(true);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'http_error', code: 'invalid_request', status: 400, level: 30 }),
    );
    expect(h.logs).toContainEqual(expect.objectContaining({ event: 'job_created', job_id: job.body.jobId }));
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        event: 'security_violation',
        reason: 'not_owner',
        route: '/v1/pets/:petId/clusters',
      }),
    );
    const text = JSON.stringify(h.logs);
    expect(text).not.toContain(petId);
    expect(text).not.toContain(ALICE_KEY);
  });

  it('logs 5xx at error with the trace id and answers a generic problem', async () => {
    h = await startHarness();
    const broken = { ...h.blobs, put: async () => Promise.reject(new Error('disk on fire')) };
    const server = createServer(tracedHandler(createApp({ ...h.deps, blobs: broken })));
    const res = await request(server).post('/v1/pets/rex/photos').set(alice).attach('photos', PHOTO, 'a.jpg');
    expect(res.status).toBe(500);
    expect(res.body.type).toBe(`${PROBLEM_BASE}internal`);
    expect(res.body.detail).not.toContain('disk on fire');
    const traceId = res.headers.traceresponse!.split('-')[1];
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: 'http_error', code: 'internal', level: 50, trace_id: traceId }),
    );
  });

  it('counts auth failures by reason, idempotency conflicts, polls, 304s and queued jobs (all from 0)', async () => {
    h = await startHarness();
    const { metrics, read } = metricsUnderTest();
    const app = createApp({ ...h.deps, metrics });

    for (const reason of ['missing_key', 'invalid_key', 'not_owner']) {
      expect(await read('media_cluster_auth_failures', { reason })).toBe(0);
    }
    expect(await read('media_cluster_jobs', { status: 'queued' })).toBe(0);
    expect(await read('media_cluster_idempotency_conflicts')).toBe(0);
    expect(await read('media_cluster_status_polls')).toBe(0);
    expect(await read('media_cluster_status_poll_304')).toBe(0);

    await request(app).get('/v1/pets/rex/clusters').expect(401);
    await request(app).get('/v1/pets/rex/clusters').set('authorization', 'Bearer wrong-key-1234').expect(401);
    await request(app).post('/v1/pets/rex/photos').set(alice).attach('photos', PHOTO, 'a.jpg').expect(201);
    await request(app).get('/v1/pets/rex/clusters').set(bob).expect(404);
    const created = await request(app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'k')
      .send({})
      .expect(202);
    await request(app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'k')
      .send({})
      .expect(202);
    await request(app)
      .post('/v1/pets/rex/clustering-jobs')
      .set(alice)
      .set('idempotency-key', 'k')
      .send({ callbackUrl: 'https://hooks.example.com/x' })
      .expect(409);
    const first = await request(app).get(created.headers.location!).set(alice).expect(200);
    await request(app)
      .get(created.headers.location!)
      .set(alice)
      .set('if-none-match', first.headers.etag!)
      .expect(304);

    expect(await read('media_cluster_auth_failures', { reason: 'missing_key' })).toBe(1);
    expect(await read('media_cluster_auth_failures', { reason: 'invalid_key' })).toBe(1);
    expect(await read('media_cluster_auth_failures', { reason: 'not_owner' })).toBe(1);
    expect(await read('media_cluster_jobs', { status: 'queued' })).toBe(1);
    expect(await read('media_cluster_idempotency_conflicts')).toBe(1);
    expect(await read('media_cluster_status_polls')).toBe(2);
    expect(await read('media_cluster_status_poll_304')).toBe(1);
  });
});
