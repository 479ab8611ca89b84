// Collector faults, for real: the api and a worker export to the real collector
// (otel-collector-config.yaml), which is stopped, then started again, then hung
// with SIGSTOP and continued. The services must keep serving with bounded memory
// (telemetry is dropped, not hoarded), Prometheus must fire OtelCollectorDown
// once the collector has been gone longer than the rule's `for:`, and spans and
// metrics must reach Jaeger and Prometheus again soon after it returns.
// Throughput during the faults is a benchmark (`pnpm bench pipeline`), not a test.
import { readFileSync } from 'node:fs';
import { type StackHandle, startStack, waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auth, type Services, startServices, uploadPet, waitForJob } from './services.js';

/** The bound the issue sets for telemetry to flow again after the collector returns. */
const BACK_WITHIN_MS = 15_000;

let stack: StackHandle;
let services: Services;

beforeAll(async () => {
  stack = await startStack();
  services = await startServices({
    otlpEnv: stack.exporterEnv(),
    databaseUrl: inject('databaseUrl'),
    // Small SDK queues, so the outage overflows them within the test.
    env: { OTEL_BSP_MAX_QUEUE_SIZE: '256', OTEL_BLRP_MAX_QUEUE_SIZE: '256' },
  });
  await stack.setServiceTargets(services.targets);
  await stack.prometheus.waitForQuery('up{job="otel-collector"} == 1', undefined, { timeoutMs: 30_000 });
}, 180_000);

afterAll(async () => {
  await services?.stop();
  await stack?.stop();
}, 60_000);

/** V8 heap in use (MB) from a service's own /metrics (loopback needs no token). */
async function heapUsedMb(target: string): Promise<number> {
  const text = await (await fetch(`http://${target}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes'));
  return Number(line?.slice(line.lastIndexOf(' ') + 1)) / 2 ** 20;
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

async function createJob(label: string) {
  const petId = await uploadPet(services, 'coffee', label);
  const res = await fetch(`${services.apiUrl}/v1/pets/${petId}/clustering-jobs`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as { jobId: string; traceId: string };
}

/** Requests and jobs while `until()` is false: every answer 2xx, every job succeeds. */
async function keepServing(until: () => Promise<boolean>, label: string) {
  let round = 0;
  const statuses = new Set<number>();
  do {
    const job = await createJob(`${label}-${round++}`);
    for (let i = 0; i < 50; i++) statuses.add((await fetch(`${services.apiUrl}/health`)).status);
    await waitForJob(services, job.jobId);
  } while (!(await until()));
  expect([...statuses]).toEqual([200]);
  return round;
}

/**
 * From the collector's return: traffic as usual (a status poll every 250 ms, each a
 * new trace), then how long until Jaeger has a trace made after the return, and
 * until Prometheus sees the status-poll counter move past where it stood.
 * Spans made while the exporters were still reconnecting may be dropped: what
 * counts is that telemetry flows again, not that the reconnect loses nothing.
 */
async function timeToTelemetry(returnedAt: number) {
  const polls = async () =>
    (await stack.prometheus.query('sum(media_cluster_status_polls_total)'))[0]?.value ?? 0;
  const before = await polls();
  const made: string[] = [];
  let traceMs: number | undefined;
  let metricsMs: number | undefined;
  const deadline = returnedAt + 60_000;
  while ((traceMs === undefined || metricsMs === undefined) && Date.now() < deadline) {
    const res = await fetch(`${services.apiUrl}/v1/jobs/00000000-0000-4000-8000-000000000000`, {
      headers: auth(),
    });
    made.push(/^00-([0-9a-f]{32})-/.exec(res.headers.get('traceresponse') ?? '')?.[1] ?? '');
    if (traceMs === undefined) {
      for (const id of made.slice(-12)) {
        if ((await stack.jaeger.trace(id)).length > 0) traceMs = Date.now() - returnedAt;
      }
    }
    if (metricsMs === undefined && (await polls()) > before) metricsMs = Date.now() - returnedAt;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(traceMs, 'no trace made after the return reached Jaeger in 60 s').toBeDefined();
  expect(metricsMs, 'Prometheus saw no new metrics in 60 s').toBeDefined();
  return { traceMs: traceMs!, metricsMs: metricsMs! };
}

describe('the collector stopped, then back', () => {
  it('while it is down: requests and jobs go on, memory stays bounded, and OtelCollectorDown fires', async () => {
    const warm = await createJob('warm');
    await waitForJob(services, warm.jobId);
    await stack.jaeger.waitForTrace(warm.traceId, undefined, { timeoutMs: 30_000 });
    await stack.prometheus.waitForQuery('sum(media_cluster_jobs_total{status="succeeded"}) >= 1');
    // The same traffic with the collector up first, so what the outage adds is
    // measured against a warmed-up process (heap sizing, sharp's buffers), not a cold one.
    const warmedUntil = Date.now() + 30_000;
    await keepServing(async () => Date.now() > warmedUntil, 'up');
    const worker = services.targets.worker[0]!;
    const before = { apiRss: rssMb(services.api.child.pid), workerHeap: await heapUsedMb(worker) };
    await stack.collector.stop();
    const firing = async () =>
      (await stack.prometheus.alerts()).some(
        (a) => a.labels.alertname === 'OtelCollectorDown' && a.state === 'firing',
      );
    const rounds = await keepServing(firing, 'down');
    expect(rounds).toBeGreaterThan(1);
    const grown = {
      apiRss: rssMb(services.api.child.pid) - before.apiRss,
      workerHeap: (await heapUsedMb(worker)) - before.workerHeap,
    };
    process.stderr.write(
      `[stack-faults] growth while down: api RSS ${grown.apiRss.toFixed(0)} MB, worker V8 heap ${grown.workerHeap.toFixed(0)} MB ` +
        `(worker RSS ${rssMb(services.worker.child.pid).toFixed(0)} MB)\n`,
    );
    // Generous: the point is "not proportional to what was produced while it was down". The
    // worker's RSS moves by hundreds of MB with photo buffers and GC timing whether or not a
    // collector is there (measured), so for it the V8 heap, where queued spans and logs live, is read.
    expect(grown.apiRss).toBeLessThan(100);
    expect(grown.workerHeap).toBeLessThan(100);
  }, 360_000);

  it(`back: spans reach Jaeger and metrics reach Prometheus within ${BACK_WITHIN_MS / 1000} s`, async () => {
    const returnedAt = Date.now();
    await stack.collector.restart();
    const { traceMs, metricsMs } = await timeToTelemetry(returnedAt);
    process.stderr.write(
      `[stack-faults] after restart: trace in Jaeger ${traceMs} ms, metrics in Prometheus ${metricsMs} ms\n`,
    );
    expect(traceMs).toBeLessThanOrEqual(BACK_WITHIN_MS);
    expect(metricsMs).toBeLessThanOrEqual(BACK_WITHIN_MS);
    await waitFor(
      async () =>
        !(await stack.prometheus.alerts()).some(
          (a) => a.labels.alertname === 'OtelCollectorDown' && a.state === 'firing',
        ),
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'OtelCollectorDown to resolve' },
    );
  }, 180_000);
});

describe('the collector hung (SIGSTOP), then continued', () => {
  it('requests and jobs go on while it accepts connections and answers nothing; telemetry flows again after', async () => {
    const rss = rssMb(services.api.child.pid);
    stack.collector.pause();
    const pausedAt = Date.now();
    try {
      // Long enough for exports to hit their deadline and the SDK queues to fill.
      await keepServing(async () => Date.now() - pausedAt > 20_000, 'hung');
      expect(rssMb(services.api.child.pid) - rss).toBeLessThan(100);
    } finally {
      stack.collector.resume();
    }
    const returnedAt = Date.now();
    const { traceMs, metricsMs } = await timeToTelemetry(returnedAt);
    process.stderr.write(
      `[stack-faults] after SIGCONT: trace in Jaeger ${traceMs} ms, metrics in Prometheus ${metricsMs} ms\n`,
    );
    expect(traceMs).toBeLessThanOrEqual(BACK_WITHIN_MS);
    expect(metricsMs).toBeLessThanOrEqual(BACK_WITHIN_MS);
  }, 180_000);
});
