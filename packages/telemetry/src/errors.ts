/** Stable codes for every error this package throws. */
export type TelemetryErrorCode =
  | 'TELEMETRY_CONFIG_INVALID'
  | 'TELEMETRY_INVALID_LOG_LEVEL'
  | 'TELEMETRY_METRICS_SERVER_LISTEN_FAILED';

export class TelemetryError extends Error {
  readonly code: TelemetryErrorCode;

  constructor(code: TelemetryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelemetryError';
    this.code = code;
  }
}
