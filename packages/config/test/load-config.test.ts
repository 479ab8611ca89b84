import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envBool, envInt, envList, envPort, envUrl, loadConfig } from '../src/index.js';

const schema = z.object({
  PORT: envPort().default(8080),
  CLAIM_IDLE_MS: envInt(1).default(30_000),
  REDIS_URL: envUrl(['redis:', 'rediss:']).optional(),
  DEMO: envBool().default(true),
  API_KEYS: envList().default([]),
});

describe('loadConfig', () => {
  it('applies defaults and coerces types', () => {
    const config = loadConfig(schema, { DEMO: '0', API_KEYS: 'a:alice, b:bob,' });
    expect(config).toEqual({
      PORT: 8080,
      CLAIM_IDLE_MS: 30_000,
      DEMO: false,
      API_KEYS: ['a:alice', 'b:bob'],
    });
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(schema, { API_KEYS: 'a:alice' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.API_KEYS)).toBe(true);
  });

  it('reports every bad key at once, naming what was expected', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: '99999', CLAIM_IDLE_MS: 'soon', REDIS_URL: 'http://x', DEMO: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, code } = error as ConfigError;
    expect(code).toBe('CONFIG_INVALID');
    expect(issues).toHaveLength(4);
    expect(issues.find((i) => i.startsWith('PORT:'))).toMatch(/at most 65535.*"99999"/);
    expect(issues.find((i) => i.startsWith('CLAIM_IDLE_MS:'))).toMatch(/whole number/);
    expect(issues.find((i) => i.startsWith('REDIS_URL:'))).toMatch(/redis:\/\//);
    expect(issues.find((i) => i.startsWith('DEMO:'))).toMatch(/true or false/);
  });

  it('treats empty strings as unset and never echoes secrets', () => {
    const secretSchema = z.object({ METRICS_TOKEN: z.string().min(16, { error: 'expected 16+ chars' }) });
    expect(() => loadConfig(secretSchema, { METRICS_TOKEN: 'short-secret' })).toThrow(/hidden/);
    expect(() => loadConfig(secretSchema, { METRICS_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
    expect(loadConfig(schema, { PORT: '' }).PORT).toBe(8080);
  });
});
