import type { CollectionResult } from '@opentelemetry/sdk-metrics';
import type { PinoLogBridge } from './log-bridge.js';
import type { RouteTemplates } from './redact-url-path.js';

/** What the register entry point leaves for the rest of the package. */
export interface TelemetryState {
  /** The SDK is running (false when OTEL_SDK_DISABLED=true or register was not loaded). */
  started: boolean;
  /** The Prometheus reader of the SDK's MeterProvider, read by /metrics. */
  collect?: () => Promise<CollectionResult>;
  /** Flushes and shuts the SDK down (unbounded; shutdownTelemetry bounds it). */
  shutdownSdk?: () => Promise<void>;
  /** Fails pending exports at once (shutdown overran its bound). */
  abandonExports?: () => void;
  shutdownPromise?: Promise<void>;
  /** Where createLogger's loggers send their lines over OTLP (absent: log sending is off). */
  logBridge?: PinoLogBridge;
  /** The routes this process serves (useRouteTemplates), for URL redaction. */
  routeTemplates?: RouteTemplates;
  /** Local ports of our metrics servers: their scrapes and probes are not traced. */
  readonly untracedPorts: Set<number>;
}

// One state per process, even if the package is loaded twice (dist for the
// --import entry, sources under vitest): keyed on a global symbol.
const KEY = Symbol.for('media-cluster.telemetry.state');
const holder = globalThis as unknown as { [KEY]?: TelemetryState };

export function telemetryState(): TelemetryState {
  holder[KEY] ??= { started: false, untracedPorts: new Set() };
  return holder[KEY];
}
