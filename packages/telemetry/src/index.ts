export { type CreateLoggerOptions, createLogger } from './create-logger.js';
export { TelemetryError, type TelemetryErrorCode } from './errors.js';
export {
  type HealthCheck,
  type HealthReport,
  type MetricsServer,
  type MetricsServerOptions,
  startMetricsServer,
} from './metrics-server.js';
export { type PrometheusKind, prometheusName } from './prometheus-names.js';
export {
  compileRouteTemplates,
  type RouteTemplates,
  redactUrlPath,
  useRouteTemplates,
} from './redact-url-path.js';
export { type ShutdownOptions, shutdownTelemetry } from './shutdown-telemetry.js';
