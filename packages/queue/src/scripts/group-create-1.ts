import { defineScript } from './define-script.js';

/**
 * Creates the consumer group from id 0 with MKSTREAM, so jobs enqueued before
 * the first worker are not skipped; an existing group is fine. A script (not a
 * bare XGROUP) so Redis Cluster routes it by its key.
 *
 * KEYS[1] stream
 * ARGV[1] group
 * Returns 1 when created, 0 when it existed.
 */
export const groupCreate1 = defineScript(
  'group-create-1',
  1,
  `
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if ok then return 1 end
if string.find(tostring(err), 'BUSYGROUP') then return 0 end
return redis.error_reply(tostring(err))
`,
);
