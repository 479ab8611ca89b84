import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ExportHealth, Signal } from './export-health.js';

type ResultCallback = (result: ExportResult) => void;

interface Exporter {
  export(items: never, resultCallback: ResultCallback): void;
}

/**
 * Wraps the OTLP exporters: every result is reported to {@link ExportHealth},
 * and {@link ExportGuard.abandon} (when shutdown overruns its bound) fails
 * pending and future exports at once, so the SDK's shutdown chain stops
 * waiting on a collector that does not answer.
 */
export class ExportGuard {
  private abandoned = false;
  private readonly pending = new Set<ResultCallback>();
  private readonly transports: { shutdown(): void }[] = [];

  constructor(private readonly health: ExportHealth) {}

  /** `transport` is the exporter's gRPC transport (otlp-grpc-exporters.ts), closed by {@link abandon}. */
  watch<E extends Exporter>(
    { exporter, transport }: { exporter: E; transport?: { shutdown(): void } },
    signal: Signal,
  ): E {
    const original = exporter.export.bind(exporter) as (
      items: unknown,
      resultCallback: ResultCallback,
    ) => void;
    if (transport) this.transports.push(transport);
    (exporter as unknown as { export: (items: unknown, resultCallback: ResultCallback) => void }).export = (
      items,
      resultCallback,
    ) => {
      if (this.abandoned) {
        resultCallback({ code: ExportResultCode.FAILED, error: new Error('telemetry was shut down') });
        return;
      }
      let settled = false;
      const settle: ResultCallback = (result) => {
        if (settled) return;
        settled = true;
        this.pending.delete(settle);
        if (!this.abandoned) this.health.onResult(signal, result);
        resultCallback(result);
      };
      this.pending.add(settle);
      try {
        original(items, settle);
      } catch (error) {
        settle({ code: ExportResultCode.FAILED, error: error as Error });
      }
    };
    return exporter;
  }

  /** Fails every pending and future export now and closes the gRPC channels. Idempotent. */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const error = new Error('telemetry shutdown timed out');
    for (const settle of [...this.pending]) settle({ code: ExportResultCode.FAILED, error });
    for (const transport of this.transports) {
      try {
        // Cancels calls still waiting for a connection; calls already sent
        // end at their deadline (the exporter timeout).
        transport.shutdown();
      } catch {
        // best effort
      }
    }
  }
}
