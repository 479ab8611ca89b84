import { ConfigError } from '@media-cluster/config';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../src/config.js';

function issues(env: Record<string, string>): string[] {
  try {
    loadApiConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  return [];
}

describe('loadApiConfig', () => {
  it('has the documented defaults', () => {
    const config = loadApiConfig({ API_KEYS: 'local-dev-key:demo-owner' });
    expect(config).toMatchObject({
      PORT: 8080,
      METRICS_PORT: 9464,
      HOST: '127.0.0.1',
      MAX_PHOTO_BYTES: 15 * 1024 * 1024,
      MAX_PHOTOS: 50,
      QUEUE_PREFIX: 'media-cluster',
      CALLBACK_ALLOWED_HOSTS: [],
      API_KEYS: [{ key: 'local-dev-key', owner: 'demo-owner' }],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses several key:owner pairs (a key may contain colons)', () => {
    const config = loadApiConfig({ API_KEYS: ' k1-aaaaaaaa:alice , k2:bbb:bbbbb:bob ' });
    expect(config.API_KEYS).toEqual([
      { key: 'k1-aaaaaaaa', owner: 'alice' },
      { key: 'k2:bbb:bbbbb', owner: 'bob' },
    ]);
  });

  it('reports every bad key at once and never echoes a key', () => {
    const found = issues({
      API_KEYS: 'short:alice,good-key-123:bad owner,good-key-123:carol,good-key-123:dave',
      MAX_PHOTOS: '0',
      PORT: 'eighty',
      HOST: 'all interfaces',
    });
    expect(found.join('\n')).toMatch(/API_KEYS.*entry 1/);
    expect(found.join('\n')).toMatch(/entry 2: owner/);
    expect(found.join('\n')).toMatch(/entry 4: the same key/);
    expect(found.some((i) => i.startsWith('MAX_PHOTOS'))).toBe(true);
    expect(found.some((i) => i.startsWith('PORT'))).toBe(true);
    expect(found.some((i) => i.startsWith('HOST'))).toBe(true);
    expect(found.join('\n')).not.toContain('good-key-123');
    expect(found.join('\n')).not.toContain('short');
  });

  it('requires API_KEYS', () => {
    expect(issues({}).some((i) => i.startsWith('API_KEYS'))).toBe(true);
  });
});
