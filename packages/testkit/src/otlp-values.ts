import type { Attributes, InstrumentationScope } from './otlp-types.js';

/**
 * Converters for the two object forms an OTLP payload arrives in: protobufjs
 * `toObject` output (ids as Buffers, 64-bit ints as decimal strings) and OTLP
 * JSON (ids as hex, 64-bit ints as strings or numbers). Both use lowerCamelCase keys.
 */

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects are untyped by nature
export type Wire = any;

const HEX = /^[0-9a-f]*$/i;

/** Trace/span ids to lowercase hex; '' when absent or empty. */
export function toHex(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'string') {
    // OTLP JSON uses hex; base64 only shows up from non-conforming senders.
    if ((value.length === 0 || value.length === 16 || value.length === 32) && HEX.test(value)) {
      return value.toLowerCase();
    }
    return Buffer.from(value, 'base64').toString('hex');
  }
  if (Array.isArray(value)) return Buffer.from(value as number[]).toString('hex');
  return '';
}

/** 64-bit integers (string, number, bigint or Long) to a decimal string; '0' when absent. */
export function toLongString(value: unknown): string {
  if (value === undefined || value === null || value === '') return '0';
  if (typeof value === 'object' && 'low' in (value as object)) return String(value);
  return BigInt(value as string | number | bigint).toString();
}

/** Numbers that may arrive as strings (int64, fixed64, JSON "NaN"); 0 when absent. */
export function toNumber(value: unknown): number {
  if (value === undefined || value === null || value === '') return 0;
  return Number(typeof value === 'object' ? String(value) : value);
}

/** int64 attribute values: a number when it fits exactly, else the decimal string. */
function intValue(value: unknown): number | string {
  const text = toLongString(value);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** An OTLP AnyValue to a plain JS value (undefined when empty). */
export function anyValue(value: Wire): unknown {
  if (value === undefined || value === null) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return intValue(value.intValue);
  if ('doubleValue' in value) return toNumber(value.doubleValue);
  if ('arrayValue' in value) return ((value.arrayValue?.values ?? []) as Wire[]).map(anyValue);
  if ('kvlistValue' in value) return attributes(value.kvlistValue?.values);
  if ('bytesValue' in value) {
    const bytes = value.bytesValue;
    return typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'base64')) : new Uint8Array(bytes);
  }
  return undefined;
}

/** A repeated KeyValue to a record. */
export function attributes(list: Wire): Attributes {
  const out: Attributes = {};
  for (const kv of (list ?? []) as Wire[]) out[kv.key] = anyValue(kv.value);
  return out;
}

export function scope(value: Wire): InstrumentationScope {
  return { name: value?.name ?? '', version: value?.version ?? '' };
}

/** Enum fields: integers per OTLP JSON, but tolerate the protobuf-JSON enum names too. */
export function enumIndex(value: unknown, names: readonly string[]): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const byName = names.indexOf(value);
    return byName >= 0 ? byName : Number(value) || 0;
  }
  return 0;
}
