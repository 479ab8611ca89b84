import type { PhotoContentType } from '@media-cluster/db';

/** What the leading bytes say (never the file name or the part's Content-Type). */
export type Sniffed =
  | { accepted: true; contentType: PhotoContentType; format: 'jpeg' | 'png' | 'webp' }
  | { accepted: false; detected: string | null };

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Classifies a file by its magic bytes at offset 0: only JPEG, PNG and WebP are accepted. */
export function sniffType(head: Buffer): Sniffed {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    return { accepted: true, contentType: 'image/jpeg', format: 'jpeg' };
  }
  if (head.subarray(0, 8).equals(PNG)) return { accepted: true, contentType: 'image/png', format: 'png' };
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return { accepted: true, contentType: 'image/webp', format: 'webp' };
  }
  return { accepted: false, detected: detectOther(head) };
}

/** A name for the rejection message only. */
function detectOther(head: Buffer): string | null {
  const start = head.toString('latin1', 0, 6);
  if (start === 'GIF87a' || start === 'GIF89a') return 'gif';
  if (start.startsWith('BM')) return 'bmp';
  if (head.length >= 4 && (head.readUInt32BE(0) === 0x49492a00 || head.readUInt32BE(0) === 0x4d4d002a))
    return 'tiff';
  const text = head
    .toString('utf8', 0, Math.min(head.length, 512))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'svg';
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'html';
  if (text.startsWith('<')) return 'xml';
  return null;
}
