/**
 * The token bucket both scripts use, as Lua source. State per key: a hash
 * `{tokens, at}` (tokens left after the last take, its time in ms from Redis'
 * own clock, so api replicas with skewed clocks agree). A bucket refills at
 * `rate` tokens per second up to `burst`; a missing key is a full bucket, and
 * a key expires once it would be full again, so idle owners and addresses
 * cost no memory. `cost` 0 only looks: is there room for one?
 *
 * Returns `{ allowed (0/1), whole tokens left, ms until the take would fit }`.
 */
export const TOKEN_BUCKET_LUA = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function take(key, rate, burst, cost, now)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  end
  local need = math.max(cost, 1)
  if tokens < need then
    return { 0, math.floor(tokens), math.ceil((need - tokens) * 1000 / rate) }
  end
  if cost > 0 then
    tokens = tokens - cost
    redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
  end
  return { 1, math.floor(tokens), 0 }
end
`;
