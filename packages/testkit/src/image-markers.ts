/**
 * What image bytes look like once they have leaked into telemetry: the leading
 * signature of a JPEG, PNG or WebP in each form a careless `String(buffer)`,
 * `toString('latin1' | 'base64' | 'hex')` or `JSON.stringify(buffer)` gives.
 * Each is long enough that ordinary text (ids, sha256s, URLs, messages) never
 * matches by chance; test/image-markers.test.ts encodes real photos every way
 * and checks that each is found.
 */
export const IMAGE_MARKERS: readonly { name: string; pattern: RegExp }[] = [
  // One character per byte (latin1 / binary).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the PNG signature holds \x1a
  { name: 'PNG signature, bytes as latin1', pattern: /\x89PNG\r\n\x1a\n/ },
  { name: 'JPEG start, bytes as latin1', pattern: /\xff\xd8\xff[\xc0-\xfe]/ },
  { name: 'WebP header, bytes as latin1 or UTF-8', pattern: /RIFF[\s\S]{1,16}WEBPVP8/ },
  // UTF-8 decoding: 0x89 and 0xFF are not UTF-8, each becomes U+FFFD.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the PNG signature holds \x1a
  { name: 'PNG signature, bytes as UTF-8', pattern: /\uFFFDPNG\r\n\x1a\n/ },
  { name: 'JPEG start, bytes as UTF-8', pattern: /\uFFFD{3}/ },
  // base64 of the signatures, at the start of a value or after a `base64,` data URL.
  { name: 'PNG signature, base64', pattern: /iVBORw0KGgo/ },
  { name: 'JPEG start, base64', pattern: /(?:^|[^A-Za-z0-9+/])\/9j\/[0-9A-Za-z+/]{4}/ },
  { name: 'WebP header, base64', pattern: /UklGR[0-9A-Za-z+/]{6}XRUJQVlA4/ },
  // Lower- or upper-case hex.
  { name: 'PNG signature, hex', pattern: /89504e470d0a1a0a/i },
  { name: 'JPEG start, hex', pattern: /ffd8ff(?:e[0-9a-f]|db|c0|c2|fe)/i },
  { name: 'WebP header, hex', pattern: /52494646[0-9a-f]{8}57454250565038/i },
  // JSON.stringify(buffer) / Array.from(bytes): decimal byte values.
  { name: 'PNG signature, decimal bytes', pattern: /137,\s*80,\s*78,\s*71,\s*13,\s*10,\s*26,\s*10/ },
  { name: 'JPEG start, decimal bytes', pattern: /255,\s*216,\s*255,\s*2(?:2[4-9]|3\d|19)/ },
  {
    name: 'WebP header, decimal bytes',
    pattern: /82,\s*73,\s*70,\s*70,(?:\s*\d+,){4}\s*87,\s*69,\s*66,\s*80/,
  },
];

/**
 * The names of the image markers found anywhere in `value`: strings are
 * checked as they are (not JSON-escaped), arrays and objects walked, byte
 * arrays checked as their decimal values. Empty when there is none.
 */
export function imageMarkersIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (v: unknown, depth: number) => {
    if (depth > 20 || v === null || v === undefined) return;
    if (typeof v === 'string') {
      for (const marker of IMAGE_MARKERS) if (marker.pattern.test(v)) found.add(marker.name);
    } else if (v instanceof Uint8Array) {
      visit(Array.from(v.subarray(0, 64)).join(','), depth + 1);
    } else if (Array.isArray(v)) {
      if (v.length > 0 && v.every((x) => typeof x === 'number')) visit(v.slice(0, 64).join(','), depth + 1);
      else for (const item of v) visit(item, depth + 1);
    } else if (typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        visit(key, depth + 1);
        visit(item, depth + 1);
      }
    }
  };
  visit(value, 0);
  return [...found];
}
