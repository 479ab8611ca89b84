import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { QueueError } from './errors.js';
import { PROPAGATION_FIELDS } from './fields.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import { idProblem, newJobFields, payloadProblem } from './job-entry.js';
import { type QueueShard, shardFor } from './keys.js';
import { describeError, FailureLog } from './logger.js';
import { createProducerMetrics } from './metrics.js';
import { resolveProducerOptions } from './options.js';
import { connectionOf } from './reader-connection.js';
import {
  ATTR_ATTEMPT,
  ATTR_ERROR_TYPE,
  ATTR_JOB_ID,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_REDIS,
  OPERATION_SEND,
  SCOPE_NAME,
  sendSpanName,
} from './semconv.js';
import type { JobInput, Producer, ProducerOptions } from './types.js';
import { VERSION } from './version.js';

/** Checks a job before anything is written; returns its attempt number. */
function validateJob(job: JobInput): number {
  const problems: string[] = [];
  const idIssue = idProblem(job?.jobId);
  if (idIssue) problems.push(`jobId: ${idIssue}`);
  if (job?.partitionKey !== undefined) {
    const keyIssue = idProblem(job.partitionKey);
    if (keyIssue) problems.push(`partitionKey: ${keyIssue}`);
  }
  if (job?.payload !== undefined) {
    const payloadIssue = payloadProblem(job.payload);
    if (payloadIssue) problems.push(`payload: ${payloadIssue}`);
  }
  const attempt = job?.attempt ?? 1;
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 999_999_999) {
    problems.push('attempt: expected an integer >= 1');
  }
  if (problems.length > 0) throw new QueueError('QUEUE_INVALID_JOB', `Invalid job: ${problems.join('; ')}`);
  return attempt;
}

/** After a WAIT fell short, sends to that shard skip the WAIT this long: 5 s. */
const WAIT_PAUSE_MS = 5_000;

/** Most XADDs written in one pipeline; a bigger burst is split. */
const MAX_PIPELINE = 1_000;

/** A send waiting for the next pipeline flush. */
interface QueuedSend {
  readonly fields: string[];
  readonly jobId: string;
  readonly attempt: number;
  readonly shard: QueueShard;
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
  /** Filled by the flush: `[error, entry id]` of its XADD. */
  result?: [Error | null, unknown];
}

/** Sends of one turn made under the same parent context: one XADD each, one PRODUCER span for all. */
interface SendGroup {
  readonly span: Span;
  /** The span's injected trace context as `[field, value, ...]`, appended to every entry. */
  readonly propagated: string[];
  readonly sends: QueuedSend[];
}

/**
 * Adds jobs to the streams, one XADD (`MAXLEN ~`) per job, written as one
 * pipeline per shard per event-loop turn (one socket write for a burst, not one
 * per job; on Redis Cluster a pipeline must stay within one slot, which a
 * shard's keys do). A job's shard comes from its partition key (round robin
 * without one). With `replicas`, each pipeline ends with `WAIT replicas
 * replicaTimeoutMs` and its sends resolve only when enough replicas have them.
 *
 * Tracing: a PRODUCER span `send <queue>` whose context is injected into the
 * entries (W3C traceparent/tracestate), so the consumer's span joins the
 * producer's trace. Sends made in the same turn under the same parent context
 * (e.g. a `Promise.all` of sends) share one span carrying
 * `messaging.batch.message_count`, as messaging semconv describes batch sends;
 * a lone send (the API's one job per request) gets its own span with
 * `messaging.message.id`, `media_cluster.job_id` and `media_cluster.attempt`
 * (and `messaging.destination.partition.id` when there are several shards).
 */
export function createProducer(options: ProducerOptions): Producer {
  const {
    redis,
    names,
    maxLen,
    replicas,
    replicaTimeoutMs,
    logger,
    metrics: metricsOptions,
  } = resolveProducerOptions(options);
  const replication = new FailureLog(
    logger,
    `replication of sends (WAIT ${replicas})`,
    { queue: names.destination },
    'fell short; the jobs are queued but not yet on a replica',
  );
  const tracer = trace.getTracer(SCOPE_NAME, VERSION);
  const metrics = createProducerMetrics(metricsOptions);
  const spanName = sendSpanName(names.destination);
  const maxLenArg = String(maxLen);
  const sharded = names.shards.length > 1;
  // Copied by the SDK when a span starts, so one object serves every span.
  const spanAttributes: Attributes = Object.freeze({
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
    [ATTR_MESSAGING_DESTINATION_NAME]: names.destination,
    [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_SEND,
    [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_SEND,
  });
  let closed = false;
  let closing: Promise<void> | undefined;
  let groups = new Map<Context, SendGroup>();
  let queuedCount = 0;
  let flushScheduled = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let roundRobin = 0;
  const waitPausedUntil = new Map<QueueShard, number>();

  function groupFor(parent: Context): SendGroup {
    let group = groups.get(parent);
    if (group) return group;
    const span = tracer.startSpan(spanName, { kind: SpanKind.PRODUCER, attributes: spanAttributes }, parent);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), carrier);
    const propagated: string[] = [];
    for (const key of PROPAGATION_FIELDS) {
      const value = carrier[key];
      if (value !== undefined) propagated.push(key, value);
    }
    group = { span, propagated, sends: [] };
    groups.set(parent, group);
    return group;
  }

  function sendFailed(shard: QueueShard, error: unknown): QueueError {
    return new QueueError(
      'QUEUE_SEND_FAILED',
      `XADD to ${shard.stream} failed: ${describeError(error).message}`,
      { cause: error },
    );
  }

  function settled(count: number): void {
    inFlight -= count;
    if (inFlight === 0 && idle) {
      const done = idle;
      idle = undefined;
      done();
    }
  }

  /** Settles one group's sends from their results, then ends its span. */
  function settleGroup({ span, sends }: SendGroup): void {
    let published = 0;
    let failure: unknown;
    for (const send of sends) {
      const [error, id] = send.result ?? [new Error('pipeline returned no reply'), undefined];
      if (!error && typeof id === 'string') {
        published++;
        if (sends.length === 1) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, id);
        send.resolve(id);
      } else {
        failure ??= error ?? new Error('XADD returned no id');
        send.reject(sendFailed(send.shard, error ?? failure));
      }
    }
    if (failure !== undefined) {
      const { message, type } = describeError(failure);
      span.recordException(failure instanceof Error ? failure : message);
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end();
    if (published > 0) metrics.published.add(published);
  }

  /** One pipeline of one shard's XADDs (then the WAIT); fills each send's result. */
  async function execShard(shard: QueueShard, sends: QueuedSend[]): Promise<void> {
    const pipeline = redis.pipeline();
    for (const send of sends) pipeline.xadd(shard.stream, 'MAXLEN', '~', maxLenArg, '*', ...send.fields);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      results = sends.map(() => [error as Error, undefined]);
    }
    // After the pipeline, not in it: ioredis follows a Cluster's MOVED for a pipeline only
    // when every command in it was redirected, and a keyless WAIT never is.
    if (replicas > 0 && results.some((r) => !r[0]) && Date.now() >= (waitPausedUntil.get(shard) ?? 0))
      await waitForReplicas(shard);
    sends.forEach((send, i) => {
      send.result = results[i] ?? [new Error('pipeline returned no reply'), undefined];
    });
  }

  /** WAIT on the connection that wrote the entries; logs (rate-limited) when replicas fell short. */
  async function waitForReplicas(shard: QueueShard): Promise<void> {
    let problem: string | undefined;
    try {
      const node = connectionOf(redis, shard.tag);
      if (!node) problem = `no connection to the master of ${shard.stream}`;
      else {
        const acked = Number(await node.call('WAIT', replicas, replicaTimeoutMs));
        if (acked < replicas)
          problem = `${acked} of ${replicas} replica(s) of ${shard.stream} confirmed within ${replicaTimeoutMs} ms; a failover now could lose these entries`;
      }
    } catch (error) {
      problem = `WAIT on ${shard.stream} failed: ${describeError(error).message}`;
    }
    if (problem === undefined) replication.succeeded();
    else {
      replication.failed(new Error(problem));
      // Typically a master without replica after a failover: no send should pay the
      // timeout for a replica that is not there; look again in a while.
      waitPausedUntil.set(shard, Date.now() + WAIT_PAUSE_MS);
    }
  }

  function flush(): void {
    flushScheduled = false;
    const current = groups;
    groups = new Map();
    queuedCount = 0;
    const byShard = new Map<QueueShard, QueuedSend[]>();
    let count = 0;
    for (const { span, sends } of current.values()) {
      const only = sends.length === 1 ? sends[0] : undefined;
      if (only) {
        span.setAttribute(ATTR_JOB_ID, only.jobId);
        span.setAttribute(ATTR_ATTEMPT, only.attempt);
        if (sharded) span.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(only.shard.index));
      } else {
        span.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, sends.length);
      }
      for (const send of sends) {
        const list = byShard.get(send.shard);
        if (list) list.push(send);
        else byShard.set(send.shard, [send]);
      }
      count += sends.length;
    }
    if (count === 0) return;
    void Promise.all([...byShard].map(([shard, sends]) => execShard(shard, sends))).then(() => {
      for (const group of current.values()) settleGroup(group);
      settled(count);
    });
  }

  // Runs the flush in the queue's internal context: no job's span becomes the parent of the
  // pipeline, and instrumentations (ioredis) add no CLIENT span per XADD on top of the PRODUCER spans.
  const flushInternal = () => context.with(QUEUE_INTERNAL_CONTEXT, flush);

  function enqueue(job: JobInput, attempt: number, parent: Context): Promise<string> {
    const group = groupFor(parent);
    const fields = newJobFields(job.jobId, job.partitionKey, job.payload, attempt, Date.now());
    for (const value of group.propagated) fields.push(value);
    const shard = shardFor(names, job.partitionKey, roundRobin++);
    inFlight++;
    queuedCount++;
    return new Promise<string>((resolve, reject) => {
      group.sends.push({ fields, jobId: job.jobId, attempt, shard, resolve, reject });
      if (queuedCount >= MAX_PIPELINE) flushInternal();
      else if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushInternal);
      }
    });
  }

  function send(job: JobInput): Promise<string> {
    if (closed) return Promise.reject(new QueueError('QUEUE_CLOSED', 'send() after close()'));
    try {
      return enqueue(job, validateJob(job), context.active());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  function close(): Promise<void> {
    closed = true;
    closing ??=
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            idle = resolve;
          });
    return closing;
  }

  return { send, close };
}
