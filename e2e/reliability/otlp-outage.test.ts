// Fault: the OTLP collector is unreachable, then stuck (accepts calls, never
// answers), then back. Requests and jobs must keep going the whole time,
// telemetry buffering must stay within its configured bounds (spans are
// dropped, not hoarded), and export must resume on its own. Throughput under
// these faults is a benchmark figure (bench/), not a timed assertion here.
import { readFileSync } from 'node:fs';
import { freePort, type OtlpReceiver, startOtlpReceiver, waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type Stack, startStack } from '../support/stack.js';

/** Small SDK queues so the test can overflow them quickly. */
const QUEUE = 256;
const BATCH = 128;
const HEALTH_REQUESTS = 1_200;

let stack: Stack;
let receiver: OtlpReceiver | undefined;
let otlpPort: number;
beforeAll(async () => {
  otlpPort = await freePort();
  stack = await startStack({
    label: 'otlp-outage',
    otlpPort,
    env: {
      OTEL_BSP_MAX_QUEUE_SIZE: String(QUEUE),
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(BATCH),
      OTEL_BLRP_MAX_QUEUE_SIZE: String(QUEUE),
      OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: String(BATCH),
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

/** `count` GET /health, 8 at a time; returns the statuses seen. */
async function hammerHealth(count: number): Promise<Set<number>> {
  const statuses = new Set<number>();
  let next = 0;
  const lane = async () => {
    while (next++ < count) statuses.add((await fetch(`${stack.apiUrl}/health`)).status);
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return statuses;
}

async function runJobs(count: number) {
  const jobs = await stack.seedJobs(count);
  const rows = await stack.waitForJobs(jobs.map((j) => j.jobId));
  expect([...rows.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
  expect(await stack.resultProblems(jobs)).toEqual([]);
  return jobs;
}

describe('OTLP collector unreachable, then hanging, then back', () => {
  let hangStart = 0n;
  let hangEnd = 0n;
  let rssBefore: number;

  it('unreachable: requests and jobs keep going', async () => {
    await runJobs(10);
    expect(await hammerHealth(100)).toEqual(new Set([200]));
  }, 60_000);

  it('hanging: requests and jobs keep going, and memory stays bounded', async () => {
    receiver = await startOtlpReceiver({ grpcPort: otlpPort, behaviour: 'hang' });
    // The exporters reconnect within their capped backoff (5 s), and their calls
    // hang. Each poll makes a request, so the span processor has something to send.
    await waitFor(
      async () => {
        await fetch(`${stack.apiUrl}/v1/jobs/00000000-0000-4000-8000-000000000000`, {
          headers: stack.auth(),
        });
        return receiver!.calls.some((c) => c.signal === 'traces' && c.outcome === 'hang');
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'a trace export to reach the hanging collector' },
    );
    rssBefore = rssMb(stack.api.child.pid);
    hangStart = BigInt(Date.now()) * 1_000_000n;
    // Far more spans and log records than the SDK queues hold.
    expect(await hammerHealth(HEALTH_REQUESTS)).toEqual(new Set([200]));
    await runJobs(10);
    hangEnd = BigInt(Date.now()) * 1_000_000n;
    expect(receiver.spans).toHaveLength(0);
    // Generous: the point is "not proportional to what was produced".
    expect(rssMb(stack.api.child.pid) - rssBefore).toBeLessThan(100);
  }, 90_000);

  it('back: export resumes on its own, and only a bounded backlog from the outage arrives', async () => {
    receiver!.setBehaviour('ok');
    const jobs = await runJobs(3);
    for (const job of jobs) {
      await receiver!.waitForSpans(
        { where: (s) => s.kind === 'CONSUMER' && s.attributes['media_cluster.job_id'] === job.jobId },
        { timeoutMs: 30_000 },
      );
    }
    await receiver!.waitForLogs(
      { where: (l) => l.resource['service.name'] === 'media-cluster-api' },
      {
        timeoutMs: 30_000,
      },
    );
    await receiver!.waitForMetric('media_cluster_jobs', { timeoutMs: 30_000 });

    // Each process buffers at most its queue plus the batch it was exporting; the rest
    // of the outage's ~2 spans per request were dropped, not hoarded.
    const fromOutage = receiver!.spans.filter((s) => {
      const start = BigInt(s.startTimeUnixNano);
      return s.resource['service.name'] === 'media-cluster-api' && start >= hangStart && start <= hangEnd;
    });
    expect(fromOutage.length).toBeLessThanOrEqual(QUEUE + 2 * BATCH);

    for (const proc of [stack.api, stack.workers[0]!.proc]) {
      const telemetryLines = () => proc.logs().filter((l) => l.name === 'telemetry');
      // Calls that hung during the outage fail at their deadline after data flows
      // again, so the all-clear comes once every signal has exported since.
      await waitFor(() => telemetryLines().some((l) => l.msg === 'telemetry export recovered'), {
        timeoutMs: 20_000,
        what: `the telemetry recovery line of pid ${proc.child.pid}: ${JSON.stringify(telemetryLines())}`,
      });
      // One warning per outage (unreachable and stuck run together), not one per failed export.
      const warnings = telemetryLines().filter((l) => l.level === 'warn');
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings.length).toBeLessThanOrEqual(3);
    }
  }, 90_000);

  it('no raw pet id, API key or image bytes reached telemetry', async () => {
    expect(await telemetryLeaks(stack, { receiver })).toEqual([]);
  });
});
