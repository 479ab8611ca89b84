import type { IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { ATTR_URL_FULL, ATTR_URL_PATH, ATTR_URL_QUERY } from '@opentelemetry/semantic-conventions';
import { CallerContexts } from './caller-context.js';
import { ExpressRouteInstrumentation } from './express-route-instrumentation.js';
import { redactUrlPath } from './redact-url-path.js';
import { INSTRUMENTATION_NAMES, type InstrumentationName } from './settings.js';
import { createPgInstrumentation } from './upstream-patches/index.js';

export interface InstrumentationOptions {
  /** Local ports whose requests are not traced (our metrics servers). */
  untracedPorts: ReadonlySet<number>;
  /** Which to load. @defaultValue all of them */
  enabled?: ReadonlySet<InstrumentationName>;
  /** An incoming request's trace context as the server span's parent, or only as a link. @defaultValue 'parent' */
  incomingTraceContext?: 'parent' | 'link';
}

/** Outgoing URL without query, fragment, credentials or raw ids. */
export function outgoingUrl(options: RequestOptions): string {
  const protocol = options.protocol ?? 'http:';
  const host = options.hostname ?? options.host ?? 'localhost';
  const port = options.port === undefined || options.port === null ? '' : String(options.port);
  const defaultPort = (protocol === 'https:' && port === '443') || (protocol === 'http:' && port === '80');
  const hostPort = port === '' || defaultPort || host.includes(':') ? host : `${host}:${port}`;
  return `${protocol}//${hostPort}${redactUrlPath(options.path ?? '/')}`;
}

/**
 * Only the instrumentations this system uses, each configured for the least
 * work per request that still gives the spans the design asks for.
 */
export function createInstrumentations({
  untracedPorts,
  enabled = new Set(INSTRUMENTATION_NAMES),
  incomingTraceContext = 'parent',
}: InstrumentationOptions): Instrumentation[] {
  const callerContexts = incomingTraceContext === 'link' ? new CallerContexts() : undefined;
  const all: Record<InstrumentationName, () => Instrumentation> = {
    http: () =>
      new HttpInstrumentation({
        // Scrapes and probes of our metrics servers would be noise.
        ignoreIncomingRequestHook: (request: IncomingMessage) => {
          const port = request.socket?.localPort;
          if (port !== undefined && untracedPorts.has(port)) return true;
          // The first hook of a request, before its context is extracted: the
          // caller's context is taken out here, to come back as a link.
          callerContexts?.detach(request);
          return false;
        },
        ...(callerContexts ? { requestHook: (span, request) => callerContexts.linkTo(span, request) } : {}),
        // The route template replaces the raw path (pet ids are personal data),
        // and the query string is never recorded.
        startIncomingSpanHook: (request: IncomingMessage) => ({
          [ATTR_URL_PATH]: redactUrlPath(request.url),
          [ATTR_URL_QUERY]: undefined,
        }),
        startOutgoingSpanHook: (options: RequestOptions) => ({ [ATTR_URL_FULL]: outgoingUrl(options) }),
        // Outgoing calls outside any span (library housekeeping) are not worth a trace.
        requireParentforOutgoingSpans: true,
        redactedQueryParamsServer: [],
      }),
    // The route template for the HTTP server span's name and `http.route` (span and
    // request-duration metric), and nothing else: the upstream express
    // instrumentation's handler span repeated the server span under it and its
    // layer wrapping cost on every middleware (bench/README.md, "where the cost goes").
    express: () => new ExpressRouteInstrumentation(),
    ioredis: () =>
      new IORedisInstrumentation({
        // Idle XREADGROUP BLOCK loops and health pings run outside any span:
        // without a parent they would each start a trace of their own.
        requireParentSpan: true,
        // Command name only: arguments carry pet ids (XADD) and payloads.
        dbStatementSerializer: (command: string) => command,
      }),
    // Pool gauges observed at collection time, not updated on every checkout
    // (upstream-patches/pg-pool-gauges.ts; stock instrumentation if upstream changed).
    pg: () =>
      createPgInstrumentation({
        requireParentSpan: true,
        // Pool checkouts are not queries; the query spans say enough.
        ignoreConnectSpans: true,
        // Never capture parameter values.
        enhancedDatabaseReporting: false,
      }),
    // Correlation fields only: createLogger's loggers send their lines through
    // PinoLogBridge (log-bridge.ts), batched, instead of this instrumentation's
    // multistream and per-line Writable inside every request.
    pino: () => new PinoInstrumentation({ disableLogSending: true }),
  };
  return INSTRUMENTATION_NAMES.filter((name) => enabled.has(name)).map((name) => all[name]());
}
