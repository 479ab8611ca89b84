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
import { JOB_FIELDS, PROPAGATION_FIELDS } from './fields.js';
import { QUEUE_INTERNAL_CONTEXT } from './internal-context.js';
import { MAX_ID_LENGTH } from './job-entry.js';
import { describeError } from './logger.js';
import { createProducerMetrics } from './metrics.js';
import { resolveProducerOptions } from './options.js';
import {
  ATTR_ATTEMPT,
  ATTR_ERROR_TYPE,
  ATTR_JOB_ID,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
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

function validateJob(job: JobInput): number {
  const problems: string[] = [];
  for (const key of ['jobId', 'petId'] as const) {
    const value = job?.[key];
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      value.length > MAX_ID_LENGTH ||
      value.trim() !== value
    ) {
      problems.push(`${key}: expected 1..${MAX_ID_LENGTH} characters without surrounding spaces`);
    }
  }
  const attempt = job?.attempt ?? 1;
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 999_999_999) {
    problems.push('attempt: expected an integer >= 1');
  }
  if (problems.length > 0) throw new QueueError('QUEUE_INVALID_JOB', `Invalid job: ${problems.join('; ')}`);
  return attempt;
}

/** Most XADDs written in one pipeline; a bigger burst is split. */
const MAX_PIPELINE = 1_000;

/** A send waiting for the next pipeline flush. */
interface QueuedSend {
  readonly fields: string[];
  readonly jobId: string;
  readonly attempt: number;
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
}

/** Sends of one turn made under the same parent context: one XADD each, one PRODUCER span for all. */
interface SendGroup {
  readonly span: Span;
  /** The span's injected trace context as `[field, value, ...]`, appended to every entry. */
  readonly propagated: string[];
  readonly sends: QueuedSend[];
}

/**
 * Adds jobs to the stream, one XADD (`MAXLEN ~`) per job, written as one
 * pipeline per event-loop turn (one socket write for a burst, not one per job).
 *
 * Tracing: a PRODUCER span `send <stream>` whose context is injected into the
 * entries (W3C traceparent/tracestate), so the consumer's span joins the
 * producer's trace. Sends made in the same turn under the same parent context
 * (a `Promise.all` of sends, or `sendBatch`) share one span carrying
 * `messaging.batch.message_count`, as messaging semconv describes batch sends;
 * a lone send (the API's one job per request) gets its own span with
 * `messaging.message.id`, `media_cluster.job_id` and `media_cluster.attempt`.
 */
export function createProducer(options: ProducerOptions): Producer {
  const { redis, names, maxLen, metrics: metricsOptions } = resolveProducerOptions(options);
  const tracer = trace.getTracer(SCOPE_NAME, VERSION);
  const metrics = createProducerMetrics(metricsOptions);
  const spanName = sendSpanName(names.stream);
  const maxLenArg = String(maxLen);
  // Copied by the SDK when a span starts, so one object serves every span.
  const spanAttributes: Attributes = Object.freeze({
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
    [ATTR_MESSAGING_DESTINATION_NAME]: names.stream,
    [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_SEND,
    [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_SEND,
  });
  let closed = false;
  let groups = new Map<Context, SendGroup>();
  let queuedCount = 0;
  let flushScheduled = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

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

  function failed(span: Span, error: unknown): QueueError {
    const { message, type } = describeError(error);
    span.recordException(error instanceof Error ? error : message);
    span.setAttribute(ATTR_ERROR_TYPE, type);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    return new QueueError('QUEUE_SEND_FAILED', `XADD to ${names.stream} failed: ${message}`, {
      cause: error,
    });
  }

  function settled(count: number): void {
    inFlight -= count;
    if (inFlight === 0 && idle) {
      const done = idle;
      idle = undefined;
      done();
    }
  }

  /** Settles one group's sends from its slice of the pipeline replies, then ends its span. */
  function settleGroup(group: SendGroup, results: [Error | null, unknown][] | null, offset: number): void {
    const { span, sends } = group;
    let published = 0;
    let failure: unknown;
    for (let i = 0; i < sends.length; i++) {
      const send = sends[i] as QueuedSend;
      const [error, id] = results?.[offset + i] ?? [new Error('pipeline returned no reply'), undefined];
      if (!error && typeof id === 'string') {
        published++;
        if (sends.length === 1) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, id);
        send.resolve(id);
      } else {
        failure ??= error ?? new Error('XADD returned no id');
        send.reject(
          new QueueError(
            'QUEUE_SEND_FAILED',
            `XADD to ${names.stream} failed: ${describeError(failure).message}`,
            { cause: failure },
          ),
        );
      }
    }
    if (failure !== undefined) failed(span, failure);
    span.end();
    if (published > 0) metrics.published.add(published);
  }

  function flush(): void {
    flushScheduled = false;
    const current = groups;
    groups = new Map();
    queuedCount = 0;
    const pipeline = redis.pipeline();
    let count = 0;
    for (const group of current.values()) {
      const { span, sends } = group;
      if (sends.length === 1) {
        const only = sends[0] as QueuedSend;
        span.setAttribute(ATTR_JOB_ID, only.jobId);
        span.setAttribute(ATTR_ATTEMPT, only.attempt);
      } else {
        span.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, sends.length);
      }
      for (const send of sends) pipeline.xadd(names.stream, 'MAXLEN', '~', maxLenArg, '*', ...send.fields);
      count += sends.length;
    }
    if (count === 0) return;
    const done = (results: [Error | null, unknown][] | null) => {
      let offset = 0;
      for (const group of current.values()) {
        settleGroup(group, results, offset);
        offset += group.sends.length;
      }
      settled(count);
    };
    pipeline
      .exec()
      .then(done, (error: Error) => done(Array.from({ length: count }, () => [error, undefined])));
  }

  // Runs the flush in the queue's internal context: no job's span becomes the parent of the
  // pipeline, and instrumentations (ioredis) add no CLIENT span per XADD on top of the PRODUCER spans.
  const flushInternal = () => context.with(QUEUE_INTERNAL_CONTEXT, flush);

  function enqueue(job: JobInput, attempt: number, parent: Context): Promise<string> {
    const group = groupFor(parent);
    const fields = [
      JOB_FIELDS.jobId,
      job.jobId,
      JOB_FIELDS.petId,
      job.petId,
      JOB_FIELDS.attempt,
      String(attempt),
      JOB_FIELDS.enqueuedAt,
      String(Date.now()),
      ...group.propagated,
    ];
    inFlight++;
    queuedCount++;
    return new Promise<string>((resolve, reject) => {
      group.sends.push({ fields, jobId: job.jobId, attempt, resolve, reject });
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

  async function sendBatch(jobs: readonly JobInput[]): Promise<string[]> {
    if (closed) throw new QueueError('QUEUE_CLOSED', 'sendBatch() after close()');
    if (!Array.isArray(jobs))
      throw new QueueError('QUEUE_INVALID_JOB', 'sendBatch() expects an array of jobs');
    // All or nothing at validation: one bad job refuses the whole batch before anything is written.
    const attempts = jobs.map(validateJob);
    const parent = context.active();
    return Promise.all(jobs.map((job, i) => enqueue(job, attempts[i] as number, parent)));
  }

  async function close(): Promise<void> {
    closed = true;
    if (inFlight === 0) return;
    await new Promise<void>((resolve) => {
      idle = resolve;
    });
  }

  return { send, sendBatch, close };
}
