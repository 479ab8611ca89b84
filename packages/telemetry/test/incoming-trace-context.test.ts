// INCOMING_TRACE_CONTEXT: a public edge may take a caller's traceparent as a
// link instead of the parent, so clients cannot pick trace ids or force
// sampling. Real register hook, real http instrumentation, real OTLP receiver.
import { type OtlpReceiver, startOtlpReceiver } from '@media-cluster/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type Fixture, startFixture } from './helpers/fixture.js';

const FAST = { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100' };
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const sampledByCaller = { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=caller' };

const running: Fixture[] = [];
let otlp: OtlpReceiver | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  await otlp?.stop();
  otlp = undefined;
});

async function start(env: Record<string, string>) {
  otlp = await startOtlpReceiver();
  const app = await startFixture({ ...otlp.exporterEnv(), ...FAST, OTEL_SERVICE_NAME: 'edge', ...env });
  running.push(app);
  return app;
}

async function get(app: Fixture, headers: Record<string, string>) {
  const res = await fetch(app.url('/v1/pets/rex/photos'), { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as { traceId: string | null; sampled: boolean };
}

describe('INCOMING_TRACE_CONTEXT', () => {
  it('parent (the default): the server span continues the caller’s trace under its span', async () => {
    const app = await start({});
    const { traceId } = await get(app, sampledByCaller);
    expect(traceId).toBe(CALLER_TRACE);
    const [server] = await otlp!.waitForSpans({ traceId: CALLER_TRACE, where: (s) => s.kind === 'SERVER' });
    expect(server?.parentSpanId).toBe(CALLER_SPAN);
  });

  it('link: the server span starts its own trace, linked to the caller’s span, without its tracestate', async () => {
    const app = await start({ INCOMING_TRACE_CONTEXT: 'link' });
    const { traceId } = await get(app, sampledByCaller);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(CALLER_TRACE);
    const [server] = await otlp!.waitForSpans({ traceId: traceId!, where: (s) => s.kind === 'SERVER' });
    expect(server?.parentSpanId).toBe('');
    expect(server?.traceState).toBe('');
    expect(server?.links).toEqual([expect.objectContaining({ traceId: CALLER_TRACE, spanId: CALLER_SPAN })]);
    // Without a traceparent there is nothing to link.
    const plain = await get(app, {});
    const [alone] = await otlp!.waitForSpans({ traceId: plain.traceId!, where: (s) => s.kind === 'SERVER' });
    expect(alone?.links).toEqual([]);
  });

  it('a caller’s sampled flag forces sampling under parent, and does not under link', async () => {
    // TRACE_SAMPLE_RATE=0: this service samples nothing it starts itself.
    const parent = await start({ TRACE_SAMPLE_RATE: '0' });
    expect((await get(parent, sampledByCaller)).sampled).toBe(true);
    await parent.stop();
    running.splice(0);
    await otlp?.stop();

    const link = await start({ TRACE_SAMPLE_RATE: '0', INCOMING_TRACE_CONTEXT: 'link' });
    expect((await get(link, sampledByCaller)).sampled).toBe(false);
    expect((await get(link, {})).sampled).toBe(false);
  });

  it('refuses a value other than parent or link at start-up', async () => {
    await expect(
      startFixture({ OTEL_SDK_DISABLED: 'false', INCOMING_TRACE_CONTEXT: 'child' }),
    ).rejects.toThrow(/INCOMING_TRACE_CONTEXT: expected parent or link/);
  });
});
