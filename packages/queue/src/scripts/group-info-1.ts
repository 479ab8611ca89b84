import { defineScript } from './define-script.js';

/**
 * XINFO GROUPS of one stream, reduced to one group: { pending, lag }, lag -1 when
 * Redis cannot tell, or nothing when the group (or the stream) does not exist.
 * A script (not a bare XINFO) so Redis Cluster routes it by its key.
 *
 * KEYS[1] stream
 * ARGV[1] group
 */
export const groupInfo1 = defineScript(
  'group-info-1',
  1,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
for i = 1, #groups do
  local g = groups[i]
  local info = {}
  for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
  if info['name'] == ARGV[1] then
    local lag = info['lag']
    if type(lag) ~= 'number' then lag = -1 end
    return { info['pending'] or 0, lag }
  end
end
return nil
`,
);
