import { defineScript } from './define-script.js';

/**
 * Moves retries whose backoff is over from the delayed set back onto the
 * stream (a member that cannot be decoded goes to the DLQ, never away).
 * Atomic, so several consumers can run it at once without double-adding.
 *
 * KEYS[1] delayed set, KEYS[2] stream, KEYS[3] dlq
 * ARGV[1] now (epoch ms), ARGV[2] most to move, ARGV[3] stream MAXLEN, ARGV[4] dlq MAXLEN
 * Returns { moved, score of the next due member or '-1' }.
 */
export const promote3 = defineScript(
  'promote-3',
  3,
  `
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #due do
  local ok, job = pcall(cjson.decode, due[i])
  if ok and type(job) == 'table' and type(job.f) == 'table' and #job.f >= 2 and #job.f % 2 == 0 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(job.f))
  else
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'reason', 'malformed',
      'error', 'undecodable delayed retry', 'raw', string.sub(due[i], 1, 8192))
  end
  redis.call('ZREM', KEYS[1], due[i])
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then return { #due, nxt[2] } end
return { #due, '-1' }
`,
);
