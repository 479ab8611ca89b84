import type { z } from 'zod';
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

/** Secrets are never echoed back in error messages. */
const SECRET_KEY = /KEY|TOKEN|SECRET|PASSWORD/i;

function describeValue(key: string, value: unknown): string {
  if (value === undefined) return 'missing';
  if (SECRET_KEY.test(key)) return 'got a value (hidden)';
  return `got ${JSON.stringify(value)}`;
}

/**
 * Validates `env` against a zod object schema once, at start-up.
 *
 * Keys are the environment variable names. Every bad key is reported in one
 * {@link ConfigError}, so an operator fixes them all in one go. The result is
 * deeply frozen: configuration never changes after start-up.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): Readonly<z.output<S>> {
  // Empty strings mean "unset" for env vars (compose files often pass KEY=).
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const raw = issue.path.length > 0 ? cleaned[String(issue.path[0])] : undefined;
      return `${key}: ${issue.message} (${describeValue(key, raw)})`;
    });
    throw new ConfigError(issues);
  }
  return deepFreeze(result.data) as Readonly<z.output<S>>;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value;
}
