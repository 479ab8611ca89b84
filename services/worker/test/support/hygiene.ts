import type { OtlpReceiver } from '@media-cluster/testkit';
import { KEY_A, KEY_B, type Stack } from './stack.js';

/** Starts of image files, raw and base64: image bytes must never become telemetry. */
const IMAGE_MARKERS = ['\x89PNG', 'iVBORw0KGgo', '\xff\xd8\xff', '/9j/', 'RIFF', 'UklGR'];
/** A longer string attribute or log field is a payload, not a description. */
const MAX_TEXT = 4_096;

/**
 * Everything that left the stack's processes as telemetry (spans, metric
 * labels and log records received over OTLP, and every stdout log line) that
 * holds a raw pet id, an API key, one of `secrets` (e.g. a callback query
 * string) or image bytes. Returns where each finding is; empty when clean.
 */
export function telemetryLeaks(
  stack: Stack,
  { secrets = [], receiver = stack.otlp }: { secrets?: string[]; receiver?: OtlpReceiver } = {},
): string[] {
  const forbidden = [...stack.petIds, KEY_A, KEY_B, ...secrets];
  const findings: string[] = [];
  const check = (where: string, value: unknown) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    for (const secret of forbidden) if (text.includes(secret)) findings.push(`${where}: contains ${secret}`);
    for (const marker of IMAGE_MARKERS)
      if (text.includes(marker))
        findings.push(`${where}: looks like image bytes (${JSON.stringify(marker)})`);
  };
  const checkAttributes = (where: string, attributes: Record<string, unknown>) => {
    check(where, attributes);
    for (const [key, value] of Object.entries(attributes)) {
      if (typeof value === 'string' && value.length > MAX_TEXT)
        findings.push(`${where}: attribute ${key} is ${value.length} characters`);
    }
  };
  for (const span of receiver?.spans ?? []) {
    const where = `span "${span.name}" (${span.resource['service.name']})`;
    check(`${where} name`, span.name);
    checkAttributes(`${where} attributes`, span.attributes);
    for (const event of span.events) checkAttributes(`${where} event ${event.name}`, event.attributes);
    for (const link of span.links) checkAttributes(`${where} link`, link.attributes);
  }
  for (const metric of receiver?.metrics ?? []) {
    for (const point of metric.dataPoints) checkAttributes(`metric ${metric.name} labels`, point.attributes);
  }
  for (const log of receiver?.logs ?? []) {
    check('OTLP log body', log.body);
    checkAttributes('OTLP log attributes', log.attributes);
  }
  for (const line of stack.logs()) check(`stdout log line "${String(line.msg)}"`, line);
  return [...new Set(findings)].slice(0, 50);
}
