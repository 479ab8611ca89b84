import { defineScript } from './define-script.js';

/**
 * Heartbeat for long jobs: resets the idle time of entries this consumer is
 * still handling (XCLAIM JUSTID does not bump the delivery count), so other
 * consumers do not take over a job that is merely slow. Entries another
 * consumer already took are reported back instead of being taken again.
 *
 * KEYS[1] stream
 * ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids
 * Returns the ids this consumer no longer owns.
 */
export const touch1 = defineScript(
  'touch-1',
  1,
  `
local lost = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
`,
);
