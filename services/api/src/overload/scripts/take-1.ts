import { defineScript } from '@media-cluster/queue';
import { TOKEN_BUCKET_LUA } from './token-bucket.js';

/**
 * Takes `cost` tokens from one bucket (0: only looks whether one would fit).
 *
 * KEYS[1] bucket
 * ARGV[1] refill rate (tokens/s), ARGV[2] burst, ARGV[3] cost
 * Returns { allowed 0/1, tokens left, ms to wait when refused }.
 */
export const take1 = defineScript(
  'take-1',
  1,
  `${TOKEN_BUCKET_LUA}
return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now_ms())
`,
);
