import { imageMarkersIn } from './image-markers.js';
import type { OtlpReceiver, SpanFilter } from './otlp-receiver.js';
import { waitFor } from './wait-for.js';

export interface TelemetryLeakOptions {
  receiver: OtlpReceiver;
  /** Strings that must appear nowhere: raw ids, API keys, callback secrets. */
  forbidden: readonly string[];
  /**
   * `service.name`s whose spans, metrics and log records must have arrived
   * before looking: a receiver that got nothing proves nothing.
   */
  services: readonly string[];
  /** Spans that must have arrived too, e.g. the last job's `process` span. */
  spans?: readonly SpanFilter[];
  /** JSON log lines the processes wrote to stdout. */
  stdout?: () => readonly unknown[];
  /** How long to wait for the telemetry above. @defaultValue 20_000 ms */
  timeoutMs?: number;
}

/** A longer string attribute or log field is a payload, not a description. */
const MAX_TEXT = 4_096;

/**
 * Waits until `services` have exported spans, metrics and logs (and `spans`
 * have arrived), then returns every place in what was received, and in
 * `stdout`, that holds a forbidden string, image bytes (any encoding,
 * {@link imageMarkersIn}) or a string attribute over 4 KB. Empty when clean;
 * throws when the telemetry never arrived.
 */
export async function telemetryLeaks(options: TelemetryLeakOptions): Promise<string[]> {
  const { receiver, forbidden, services } = options;
  const missing = () => {
    const from = (items: readonly { resource: Record<string, unknown> }[], service: string) =>
      items.some((item) => item.resource['service.name'] === service);
    return services.flatMap((service) => [
      ...(from(receiver.spans, service) ? [] : [`spans of ${service}`]),
      ...(from(receiver.metrics, service) ? [] : [`metrics of ${service}`]),
      ...(from(receiver.logs, service) ? [] : [`log records of ${service}`]),
    ]);
  };
  await waitFor(
    () => {
      const absent = missing();
      if (absent.length > 0) throw new Error(`nothing yet: ${absent.join(', ')}`);
      return true;
    },
    { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 100, what: 'telemetry to look into' },
  );
  for (const filter of options.spans ?? [])
    await receiver.waitForSpans(filter, { timeoutMs: options.timeoutMs ?? 20_000 });

  const findings: string[] = [];
  const check = (where: string, value: unknown) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    for (const secret of forbidden) if (text.includes(secret)) findings.push(`${where}: contains ${secret}`);
    for (const marker of imageMarkersIn(value)) findings.push(`${where}: looks like image bytes (${marker})`);
  };
  const checkAttributes = (where: string, attributes: Record<string, unknown>) => {
    check(where, attributes);
    for (const [key, value] of Object.entries(attributes)) {
      if (typeof value === 'string' && value.length > MAX_TEXT)
        findings.push(`${where}: attribute ${key} is ${value.length} characters`);
    }
  };
  for (const span of receiver.spans) {
    const where = `span "${span.name}" (${span.resource['service.name']})`;
    check(`${where} name`, span.name);
    checkAttributes(`${where} attributes`, span.attributes);
    for (const event of span.events) checkAttributes(`${where} event ${event.name}`, event.attributes);
    for (const link of span.links) checkAttributes(`${where} link`, link.attributes);
  }
  for (const metric of receiver.metrics) {
    for (const point of metric.dataPoints) checkAttributes(`metric ${metric.name} labels`, point.attributes);
  }
  for (const log of receiver.logs) {
    check('OTLP log body', log.body);
    checkAttributes('OTLP log attributes', log.attributes);
  }
  for (const line of options.stdout?.() ?? []) {
    const msg = (line as { msg?: unknown } | null)?.msg;
    check(`stdout log line "${String(msg)}"`, line);
  }
  return [...new Set(findings)].slice(0, 50);
}
