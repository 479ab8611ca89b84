import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';

/**
 * The span context of the HTTP server span of the current request. Express
 * instrumentation makes each middleware's span the active one, so the server
 * span is taken from the RPC metadata http instrumentation puts in the
 * context; undefined when no SDK is running (or the request is not sampled in).
 */
export function serverSpanContext(): SpanContext | undefined {
  const active = context.active();
  const meta = getRPCMetadata(active);
  const span = meta?.type === RPCType.HTTP ? meta.span : trace.getSpan(active);
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** W3C Trace Context level 2 `traceresponse` value: `00-<trace-id>-<span-id>-<flags>`. */
export function traceResponseHeader(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}
