import type { ClientRequest, IncomingMessage } from 'node:http';
import {
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  trace,
} from '@opentelemetry/api';

/**
 * INCOMING_TRACE_CONTEXT=link: a public edge takes its callers' trace context
 * (`traceparent`, `tracestate` and whatever else the propagators read) as a
 * link, never as the parent, so a client can neither choose the trace id nor
 * force sampling with the sampled flag: the server span starts a trace of its
 * own, which this service's sampler decides on.
 */
export class CallerContexts {
  private readonly byRequest = new WeakMap<IncomingMessage, SpanContext>();

  /** Takes the propagation headers out of `request` (before the instrumentation extracts them). */
  detach(request: IncomingMessage): void {
    const fields = propagation.fields();
    if (!fields.some((field) => request.headers[field] !== undefined)) return;
    const caller = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, request.headers));
    for (const field of fields) delete request.headers[field];
    if (caller && isSpanContextValid(caller)) this.byRequest.set(request, caller);
  }

  /** Links the request's server span to the caller's context, if it sent one. */
  linkTo(span: Span, request: ClientRequest | IncomingMessage): void {
    const caller = this.byRequest.get(request as IncomingMessage);
    if (caller) span.addLink({ context: caller });
  }
}
