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

  it('takes Redis Cluster nodes and a shard count; bad ones are reported with the rest', () => {
    const config = loadApiConfig({
      API_KEYS: 'local-dev-key:demo-owner',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis://10.0.0.2:7001,rediss://u:p@cache:6380',
      QUEUE_SHARDS: '3',
    });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      '10.0.0.1:7000',
      'redis://10.0.0.2:7001',
      'rediss://u:p@cache:6380',
    ]);
    expect(config.QUEUE_SHARDS).toBe(3);
    expect(loadApiConfig({ API_KEYS: 'local-dev-key:demo-owner' }).QUEUE_SHARDS).toBe(1);
    const found = issues({
      API_KEYS: 'local-dev-key:demo-owner',
      REDIS_CLUSTER_NODES: '10.0.0.1,http://x:1',
      QUEUE_SHARDS: '0',
    }).join('\n');
    expect(found).toMatch(/REDIS_CLUSTER_NODES: expected comma-separated host:port/);
    expect(found).toMatch(/QUEUE_SHARDS: expected at least 1/);
  });

  it('reads the overload settings: rates as <count>/<unit> or off, bursts, ceiling, TRUST_PROXY', () => {
    const defaults = loadApiConfig({ API_KEYS: 'local-dev-key:demo-owner' });
    expect(defaults).toMatchObject({
      RATE_LIMIT_JOBS: { perSecond: 20, text: '20/s' },
      RATE_LIMIT_JOBS_BURST: 200,
      RATE_LIMIT_UPLOADS: { perSecond: 20, text: '20/s' },
      RATE_LIMIT_UPLOADS_BURST: 200,
      RATE_LIMIT_AUTH_FAILURES: { perSecond: 0.5, text: '30/min' },
      RATE_LIMIT_AUTH_FAILURES_BURST: 60,
      JOB_BACKLOG_CEILING: 1_000,
      BACKLOG_CACHE_MS: 250,
    });
    expect(defaults.TRUST_PROXY).toBeUndefined();
    const set = loadApiConfig({
      API_KEYS: 'local-dev-key:demo-owner',
      RATE_LIMIT_JOBS: ' 90/min ',
      RATE_LIMIT_UPLOADS: 'off',
      RATE_LIMIT_AUTH_FAILURES: '36/h',
      JOB_BACKLOG_CEILING: '0',
      TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1',
    });
    expect(set.RATE_LIMIT_JOBS).toEqual({ perSecond: 1.5, text: '90/min' });
    expect(set.RATE_LIMIT_UPLOADS).toBeNull();
    expect(set.RATE_LIMIT_AUTH_FAILURES?.perSecond).toBeCloseTo(0.01);
    expect(set.TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8', '::1']);
    expect(loadApiConfig({ API_KEYS: 'local-dev-key:demo-owner', TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);

    const found = issues({
      API_KEYS: 'local-dev-key:demo-owner',
      RATE_LIMIT_JOBS: '5 per second',
      RATE_LIMIT_UPLOADS: '0/s',
      RATE_LIMIT_AUTH_FAILURES_BURST: '0',
      JOB_BACKLOG_CEILING: '-1',
      BACKLOG_CACHE_MS: '5',
      TRUST_PROXY: 'my-balancer, 10.0.0.0/33',
    }).join('\n');
    for (const key of [
      'RATE_LIMIT_JOBS:',
      'RATE_LIMIT_UPLOADS:',
      'RATE_LIMIT_AUTH_FAILURES_BURST:',
      'JOB_BACKLOG_CEILING:',
      'BACKLOG_CACHE_MS:',
    ]) {
      expect(found).toContain(key);
    }
    expect(found).toMatch(/TRUST_PROXY: .*\(not: my-balancer, 10\.0\.0\.0\/33\)/);
    expect(found).toMatch(/RATE_LIMIT_JOBS: expected <count>\/s/);
  });

  it('requires API_KEYS', () => {
    expect(issues({}).some((i) => i.startsWith('API_KEYS'))).toBe(true);
  });
});
