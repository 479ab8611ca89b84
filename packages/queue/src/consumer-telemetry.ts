import {
  type Attributes,
  type Context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { QueueNames } from './keys.js';
import { describeError } from './logger.js';
import {
  ATTR_ATTEMPT,
  ATTR_DELIVERY_COUNT,
  ATTR_ERROR_TYPE,
  ATTR_JOB_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  EVENT_REDELIVERED,
  MESSAGING_SYSTEM_REDIS,
  OPERATION_PROCESS,
  processSpanName,
  SCOPE_NAME,
} from './semconv.js';
import { VERSION } from './version.js';

export interface ProcessSpan {
  readonly span: Span;
  /** Context the handler and hooks run in: the span over the extracted context (baggage kept). */
  readonly ctx: Context;
}

/**
 * Starts one CONSUMER span per delivered entry. The trace context is extracted
 * per message from ROOT_CONTEXT (never from the loop's active context), so no
 * job's context leaks into another. Hot path: one attribute object is reused
 * (the SDK copies attributes when the span starts), no closures per message.
 */
export class ConsumerTelemetry {
  private readonly tracer = trace.getTracer(SCOPE_NAME, VERSION);
  private readonly spanName: string;
  private readonly attributes: Attributes;
  /** With one shard there is no partition to name: the spans look as before sharding. */
  private readonly sharded: boolean;

  constructor(names: QueueNames) {
    this.spanName = processSpanName(names.destination);
    this.sharded = names.shards.length > 1;
    this.attributes = {
      [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
      [ATTR_MESSAGING_DESTINATION_NAME]: names.destination,
      [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_PROCESS,
      [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_PROCESS,
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: names.group,
      [ATTR_MESSAGING_MESSAGE_ID]: '',
      [ATTR_JOB_ID]: '',
      [ATTR_ATTEMPT]: 0,
    };
  }

  /** The CONSUMER span of a valid job. */
  start(
    carrier: Readonly<Record<string, string>>,
    messageId: string,
    shard: number,
    jobId: string,
    attempt: number,
    deliveryCount: number,
  ): ProcessSpan {
    const attributes = this.attributes;
    attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
    if (this.sharded) attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(shard);
    attributes[ATTR_JOB_ID] = jobId;
    attributes[ATTR_ATTEMPT] = attempt;
    return this.startWith(carrier, attributes, deliveryCount);
  }

  /** The CONSUMER span of an entry without valid job fields (rare: fresh attributes). */
  startMalformed(
    carrier: Readonly<Record<string, string>>,
    messageId: string,
    shard: number,
    deliveryCount: number,
  ): ProcessSpan {
    const { [ATTR_JOB_ID]: _job, [ATTR_ATTEMPT]: _attempt, ...attributes } = this.attributes;
    attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
    if (this.sharded) attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(shard);
    return this.startWith(carrier, attributes, deliveryCount);
  }

  private startWith(
    carrier: Readonly<Record<string, string>>,
    attributes: Attributes,
    deliveryCount: number,
  ): ProcessSpan {
    const extracted = propagation.extract(ROOT_CONTEXT, carrier);
    const producer = trace.getSpanContext(extracted);
    const links: Link[] | undefined = producer ? [{ context: producer }] : undefined;
    const span = this.tracer.startSpan(
      this.spanName,
      { kind: SpanKind.CONSUMER, attributes, links },
      extracted,
    );
    if (deliveryCount > 1) {
      span.setAttribute(ATTR_DELIVERY_COUNT, deliveryCount);
      span.addEvent(EVENT_REDELIVERED, { [ATTR_DELIVERY_COUNT]: deliveryCount });
    }
    return { span, ctx: trace.setSpan(extracted, span) };
  }
}

/** Marks a span failed with the error recorded as an exception event. */
export function recordFailure(span: Span, error: unknown): void {
  const { message, type } = describeError(error);
  span.recordException(error instanceof Error ? error : message);
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
