import { defineScript } from '@media-cluster/queue';
import { TOKEN_BUCKET_LUA } from './token-bucket.js';

/**
 * One round trip for an authenticated write: refuses when the guard bucket
 * (the client address' failed authentications) is empty, and otherwise takes
 * one token from the bucket (the owner's writes). The guard is only looked at.
 * A rate of 0 leaves that bucket out.
 *
 * KEYS[1] guard bucket, KEYS[2] bucket
 * ARGV[1] guard rate (tokens/s), ARGV[2] guard burst, ARGV[3] rate, ARGV[4] burst
 * Returns { refused by: 0 none / 1 guard / 2 bucket, tokens left, ms to wait when refused }.
 */
export const guardedTake2 = defineScript(
  'guarded-take-2',
  2,
  `${TOKEN_BUCKET_LUA}
local now = now_ms()
local guard_rate = tonumber(ARGV[1])
if guard_rate > 0 then
  local guard = take(KEYS[1], guard_rate, tonumber(ARGV[2]), 0, now)
  if guard[1] == 0 then return { 1, guard[2], guard[3] } end
end
local rate = tonumber(ARGV[3])
if rate > 0 then
  local result = take(KEYS[2], rate, tonumber(ARGV[4]), 1, now)
  if result[1] == 0 then return { 2, result[2], result[3] } end
  return { 0, result[2], 0 }
end
return { 0, 0, 0 }
`,
);
