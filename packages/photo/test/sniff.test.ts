import { describe, expect, it } from 'vitest';
import { sniffPhoto } from '../src/index.js';

const sniff = (bytes: Buffer) => {
  const s = sniffPhoto(bytes);
  return s.accepted ? s.format : { detected: s.detected };
};

describe('sniffPhoto', () => {
  it('accepts JPEG, PNG and WebP by their magic bytes, with their content type', () => {
    expect(sniffPhoto(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toEqual({
      accepted: true,
      format: 'jpeg',
      contentType: 'image/jpeg',
    });
    expect(sniff(Buffer.from('89504e470d0a1a0a', 'hex'))).toBe('png');
    expect(sniff(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
  });

  it('looks at offset 0 only, and names what it refuses when it can', () => {
    expect(sniff(Buffer.from('GIF89a'))).toEqual({ detected: 'gif' });
    expect(sniff(Buffer.concat([Buffer.from('<html>'), Buffer.from([0xff, 0xd8, 0xff])]))).toEqual({
      detected: 'html',
    });
    expect(sniff(Buffer.from('\uFEFF  <?xml version="1.0"?><svg/>'))).toEqual({ detected: 'svg' });
    expect(sniff(Buffer.from('II*\0'))).toEqual({ detected: 'tiff' });
    expect(sniff(Buffer.from('RIFF\0\0\0\0WAVE'))).toEqual({ detected: null });
    expect(sniff(Buffer.from('89504e470d0a1a', 'hex'))).toEqual({ detected: null });
    expect(sniff(Buffer.alloc(0))).toEqual({ detected: null });
  });
});
