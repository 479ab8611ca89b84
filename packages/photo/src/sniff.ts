import { CONTENT_TYPES, type PhotoContentType, type PhotoFormat } from './formats.js';

/** What the leading bytes say. */
export type Sniffed =
  | { accepted: true; format: PhotoFormat; contentType: PhotoContentType }
  | {
      accepted: false /** A name for the message only (`gif`, `svg`, ...), null when unknown. */;
      detected: string | null;
    };

/** The most leading bytes sniffing looks at (the markup check). */
export const SNIFF_BYTES = 512;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Classifies bytes by their magic numbers at offset 0 only: a polyglot that
 * starts with markup is not an image, whatever follows. Only JPEG, PNG and
 * WebP are accepted.
 */
export function sniffPhoto(bytes: Uint8Array): Sniffed {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, SNIFF_BYTES));
  const format = acceptedFormat(head);
  if (format) return { accepted: true, format, contentType: CONTENT_TYPES[format] };
  return { accepted: false, detected: otherType(head) };
}

function acceptedFormat(head: Buffer): PhotoFormat | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && PNG_SIGNATURE.every((byte, i) => head[i] === byte)) return 'png';
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

function otherType(head: Buffer): string | null {
  const start = head.toString('latin1', 0, 6);
  if (start === 'GIF87a' || start === 'GIF89a') return 'gif';
  if (start.startsWith('BM')) return 'bmp';
  if (head.length >= 4 && (head.readUInt32BE(0) === 0x49492a00 || head.readUInt32BE(0) === 0x4d4d002a))
    return 'tiff';
  const text = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'svg';
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'html';
  if (text.startsWith('<')) return 'xml';
  return null;
}
