import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script named, BullMQ-style, with its key count (`retry-2`). Exported for
 * the api's rate limiter too: one convention for every script the project runs.
 */
export interface LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
  readonly sha: string;
}

export function defineScript(name: string, numberOfKeys: number, lua: string): LuaScript {
  if (!name.endsWith(`-${numberOfKeys}`)) throw new Error(`script ${name} must be named with its key count`);
  return Object.freeze({ name, numberOfKeys, lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/** What runScript needs of a client (an ioredis `Redis` or `Cluster`). */
export type ScriptRunner = Pick<Redis, 'evalsha' | 'eval'>;

/**
 * EVALSHA, falling back to EVAL once when the script cache does not have it
 * (first call, or after a Redis restart / SCRIPT FLUSH). Keeps the caller's
 * client untouched (no defineCommand on a client the queue does not own).
 */
export async function runScript(
  redis: ScriptRunner,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (keys.length !== script.numberOfKeys) {
    throw new Error(`script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  try {
    return await redis.evalsha(script.sha, script.numberOfKeys, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.lua, script.numberOfKeys, ...keys, ...args);
  }
}
