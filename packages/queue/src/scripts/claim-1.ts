import { defineScript } from './define-script.js';

/**
 * XAUTOCLAIM entries idle for at least `minIdle` ms and report each claimed
 * entry's delivery count (XAUTOCLAIM does not return it, and the attempt
 * number of a job that keeps crashing its consumers is derived from it).
 *
 * KEYS[1] stream
 * ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle ms, ARGV[4] cursor, ARGV[5] count
 * Returns { next cursor, entries, ids deleted from the stream, delivery counts }.
 */
export const claim1 = defineScript(
  'claim-1',
  1,
  `
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries = claimed[2]
local counts = {}
for i = 1, #entries do
  local id = entries[i][1]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] then counts[i] = pending[1][4] else counts[i] = 1 end
end
return { claimed[1], entries, claimed[3] or {}, counts }
`,
);
