import { defineScript } from './define-script.js';

/**
 * Removes this consumer from the group on shutdown, but only when it holds
 * no pending entries (XGROUP DELCONSUMER would drop them from the PEL).
 *
 * KEYS[1] stream
 * ARGV[1] group, ARGV[2] consumer
 * Returns 1 when deleted, 0 when it still holds entries.
 */
export const deleteConsumer1 = defineScript(
  'delete-consumer-1',
  1,
  `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if pending[1] then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
);
