import { defineScript } from './define-script.js';

/**
 * Schedules the next attempt of a failed job and acknowledges the failed one
 * in one step, so a crash can neither lose the job nor run it twice. Does
 * nothing when another consumer has taken the entry over meanwhile.
 *
 * KEYS[1] stream, KEYS[2] delayed set
 * ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] due (epoch ms), ARGV[5] member (JSON `{id, f}`)
 * Returns 1 when scheduled, 0 when the entry is not this consumer's any more.
 */
export const retry2 = defineScript(
  'retry-2',
  2,
  `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not pending[1] or pending[1][2] ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
`,
);
