// Fault: the worker dies after the job's result committed but before its
// webhook was delivered. The callback receiver holds the first POST open (the
// worker is now past the commit, waiting on the receiver) and the test
// SIGKILLs the worker right then. Another worker claims the entry: it must not
// redo the result, but must send the webhook, inside the job's trace, and
// record the delivery. A receiver that is down for good is given up on after
// the bounded retries, recorded as such, and the entry is settled.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { freePort, waitFor } from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLeaks } from '../support/hygiene.js';
import { type Stack, startStack, type WorkerHandle } from '../support/stack.js';

const WEBHOOK_MAX_ATTEMPTS = 3;

interface HookCall {
  headers: IncomingHttpHeaders;
  body: unknown;
  answered: boolean;
}

/** A callback receiver that holds requests open ('hold') or answers 204 ('ok'). */
function startReceiver() {
  const calls: HookCall[] = [];
  const held: ServerResponse[] = [];
  let mode: 'hold' | 'ok' = 'hold';
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const call = { headers: req.headers, body: JSON.parse(raw) as unknown, answered: mode === 'ok' };
      calls.push(call);
      if (mode === 'ok') res.writeHead(204).end();
      else held.push(res);
    });
  });
  return {
    calls,
    setMode(next: 'hold' | 'ok') {
      mode = next;
    },
    async listen(): Promise<number> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as { port: number }).port;
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface WebhookRow {
  status: string;
  attempts: number;
  finished_at: Date | null;
  webhook_status: string | null;
  webhook_attempts: number;
  webhook_error: string | null;
}

let stack: Stack;
const receiver = startReceiver();
let hookPort: number;

beforeAll(async () => {
  hookPort = await receiver.listen();
  stack = await startStack({
    label: 'hookcrash',
    workers: 1,
    workerEnv: {
      CLAIM_IDLE_MS: '1000',
      // Far longer than the test waits: the first worker is killed while the POST hangs, not timed out.
      WEBHOOK_TIMEOUT_MS: '30000',
      WEBHOOK_MAX_ATTEMPTS: String(WEBHOOK_MAX_ATTEMPTS),
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await receiver.close();
});

async function webhookRow(jobId: string): Promise<WebhookRow> {
  const { rows } = await stack.db.query<WebhookRow>(
    `SELECT status, attempts, finished_at, webhook_status, webhook_attempts, webhook_error
       FROM jobs WHERE id = $1`,
    [jobId],
  );
  return rows[0]!;
}

describe('worker SIGKILLed between the result commit and the webhook', () => {
  let job: { petId: string; photoIds: string[]; jobId: string; traceId: string };
  let committed: WebhookRow;
  let survivor: WorkerHandle;

  it('the redelivery sends the webhook once, in the job trace, without redoing the result', async () => {
    const petId = stack.newPetId();
    const photoIds = await stack.uploadPhotos(petId, stack.newPhotos(3));
    const created = await stack.createJob(petId, { callbackUrl: `http://127.0.0.1:${hookPort}/hook` });
    job = { petId, photoIds, ...created };

    // The first POST arrives and is held: the worker has committed and is waiting on the receiver.
    await waitFor(() => receiver.calls[0], { timeoutMs: 30_000, what: 'the first webhook POST' });
    committed = await webhookRow(job.jobId);
    expect(committed).toMatchObject({ status: 'succeeded', webhook_status: null, webhook_attempts: 0 });
    // Its job_completed line is out before the kill (so a lost log line cannot pass for "not redone").
    await waitFor(() => stack.completions().get(job.jobId) === 1 || undefined, {
      timeoutMs: 10_000,
      what: 'the job_completed log line',
    });
    const victim = stack.workers[0]!;
    const exit = await victim.proc.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(receiver.calls[0]!.answered).toBe(false);

    receiver.setMode('ok');
    survivor = await stack.startWorker();
    const settled = await waitFor(
      async () => {
        const row = await webhookRow(job.jobId);
        return row.webhook_status === null ? undefined : row;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the webhook delivery to be recorded' },
    );

    expect(settled).toMatchObject({
      status: 'succeeded',
      // Not run again: the redelivery did not mark it running or rewrite the result.
      attempts: 1,
      finished_at: committed.finished_at,
      webhook_status: 'delivered',
      webhook_attempts: 1,
      webhook_error: null,
    });
    expect(receiver.calls).toHaveLength(2);
    const second = receiver.calls[1]!;
    expect(second.answered).toBe(true);
    expect(second.body).toEqual({
      jobId: job.jobId,
      status: 'succeeded',
      clustersUrl: `${stack.apiUrl}/v1/pets/${petId}/clusters`,
    });
    expect(String(second.headers.traceparent)).toMatch(new RegExp(`^00-${job.traceId}-[0-9a-f]{16}-0[01]$`));

    expect(stack.completions().get(job.jobId)).toBe(1);
    expect(await stack.resultProblems([job])).toEqual([]);
    const survivorLines = survivor.proc.logs().filter((l) => l.job_id === job.jobId);
    expect(survivorLines.map((l) => l.event)).toEqual(
      expect.arrayContaining(['job_skipped', 'webhook_delivered']),
    );
    expect(survivorLines.find((l) => l.event === 'job_skipped')).toMatchObject({
      reason: 'already_succeeded',
      webhook_pending: true,
    });
    expect(survivorLines.map((l) => l.event)).not.toContain('job_completed');
  }, 60_000);

  it("the webhook's CLIENT span hangs under the redelivery's process span in the job trace", async () => {
    const otlp = stack.otlp!;
    const spanId = String(receiver.calls[1]!.headers.traceparent).split('-')[2];
    const [client] = await otlp.waitForSpans(
      { traceId: job.traceId, where: (s) => s.spanId === spanId },
      { timeoutMs: 20_000 },
    );
    expect(client!.kind).toBe('CLIENT');
    const [parent] = await otlp.waitForSpans(
      { traceId: job.traceId, where: (s) => s.spanId === client!.parentSpanId },
      { timeoutMs: 20_000 },
    );
    expect(parent!.kind, otlp.renderTrace(job.traceId)).toBe('CONSUMER');
    expect(parent!.attributes['media_cluster.job_id']).toBe(job.jobId);
    expect(parent!.attributes['media_cluster.attempt']).toBe(2);
  });

  it('a receiver that is down for good: retries are bounded, the failure is recorded, the entry settled', async () => {
    const deadPort = await freePort(); // nothing listens there: connection refused
    const petId = stack.newPetId();
    await stack.uploadPhotos(petId, stack.newPhotos(1));
    const { jobId } = await stack.createJob(petId, { callbackUrl: `http://127.0.0.1:${deadPort}/hook` });
    const row = await waitFor(
      async () => {
        const r = await webhookRow(jobId);
        return r.webhook_status === null ? undefined : r;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the webhook failure to be recorded' },
    );
    expect(row).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      webhook_status: 'failed',
      webhook_attempts: WEBHOOK_MAX_ATTEMPTS,
    });
    expect(row.webhook_error).toMatch(/^network: .*ECONNREFUSED/);
    const lines = survivor.proc.logs().filter((l) => l.job_id === jobId);
    expect(lines.filter((l) => l.event === 'webhook_failed')).toHaveLength(1);
    expect(lines.map((l) => l.event)).not.toContain('job_failed');
  }, 60_000);

  it('nothing is left pending or dead-lettered, and nothing sensitive reached telemetry', async () => {
    const { stream, dlq } = stack.keys;
    const { group } = stack.names;
    await waitFor(
      async () => {
        const summary = (await stack.redis.xpending(stream, group)) as [number, ...unknown[]];
        return summary[0] === 0 || undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'no pending entries' },
    );
    expect(await stack.redis.xlen(dlq)).toBe(0);
    expect(await telemetryLeaks(stack)).toEqual([]);
  });
});
