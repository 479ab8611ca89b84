import { defineScript } from './define-script.js';

/**
 * Copies an entry to the dead-letter stream and acknowledges it in one step.
 * Does nothing when another consumer has taken the entry over meanwhile.
 *
 * KEYS[1] stream, KEYS[2] dlq
 * ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] dlq MAXLEN, ARGV[5..] dlq fields
 * Returns the DLQ entry id, or 0 when the entry is not this consumer's any more.
 */
export const deadLetter2 = defineScript(
  'dead-letter-2',
  2,
  `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not pending[1] or pending[1][2] ~= ARGV[2] then return 0 end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return id
`,
);
