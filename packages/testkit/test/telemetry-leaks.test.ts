import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver, telemetryLeaks } from '../src/index.js';

const resource = (service: string) => ({
  attributes: [{ key: 'service.name', value: { stringValue: service } }],
});
const attrs = (values: Record<string, string>) =>
  Object.entries(values).map(([key, v]) => ({ key, value: { stringValue: v } }));

/** One span, one counter point and one log record of `service`, as OTLP/HTTP JSON. */
async function exportAll(receiver: OtlpReceiver, service: string, values: Record<string, string>) {
  const post = async (signal: string, body: unknown) => {
    const res = await fetch(`${receiver.httpEndpoint}/v1/${signal}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };
  const now = `${Date.now()}000000`;
  await post('traces', {
    resourceSpans: [
      {
        resource: resource(service),
        scopeSpans: [
          {
            spans: [
              {
                traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                spanId: '00f067aa0ba902b7',
                name: 'probe',
                kind: 2,
                startTimeUnixNano: now,
                endTimeUnixNano: now,
                attributes: attrs(values),
              },
            ],
          },
        ],
      },
    ],
  });
  await post('metrics', {
    resourceMetrics: [
      {
        resource: resource(service),
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'probe_total',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ asInt: '1', timeUnixNano: now, attributes: attrs({ outcome: 'ok' }) }],
                },
              },
            ],
          },
        ],
      },
    ],
  });
  await post('logs', {
    resourceLogs: [
      {
        resource: resource(service),
        scopeLogs: [{ logRecords: [{ timeUnixNano: now, body: { stringValue: 'probe log' } }] }],
      },
    ],
  });
}

describe('telemetryLeaks', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.reset());
  afterAll(() => receiver.stop());

  it('fails on an empty receiver instead of finding nothing', async () => {
    await expect(
      telemetryLeaks({ receiver, forbidden: ['x'], services: ['svc-a'], timeoutMs: 300 }),
    ).rejects.toThrow(/spans of svc-a, metrics of svc-a, log records of svc-a/);
  });

  it('waits for every service named, not only the first to arrive', async () => {
    await exportAll(receiver, 'svc-a', { ok: 'fine' });
    await expect(
      telemetryLeaks({ receiver, forbidden: ['x'], services: ['svc-a', 'svc-b'], timeoutMs: 300 }),
    ).rejects.toThrow(/spans of svc-b/);
  });

  it('finds forbidden strings, image bytes and long attributes, in telemetry and stdout', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await exportAll(receiver, 'svc-a', {
      'pet.id': 'pet-secret-1',
      thumbnail: png.toString('base64'),
      blob: 'x'.repeat(5_000),
    });
    const leaks = await telemetryLeaks({
      receiver,
      forbidden: ['pet-secret-1', 'key-secret-2'],
      services: ['svc-a'],
      stdout: () => [{ msg: 'upload', key: 'key-secret-2', raw: png.toString('latin1') }],
    });
    expect(leaks).toEqual(
      expect.arrayContaining([
        'span "probe" (svc-a) attributes: contains pet-secret-1',
        'span "probe" (svc-a) attributes: looks like image bytes (PNG signature, base64)',
        'span "probe" (svc-a) attributes: attribute blob is 5000 characters',
        'stdout log line "upload": contains key-secret-2',
        'stdout log line "upload": looks like image bytes (PNG signature, bytes as latin1)',
      ]),
    );
  });

  it('is empty for clean telemetry', async () => {
    await exportAll(receiver, 'svc-a', { route: '/v1/pets/{petId}/photos' });
    expect(await telemetryLeaks({ receiver, forbidden: ['pet-secret-1'], services: ['svc-a'] })).toEqual([]);
  });
});
