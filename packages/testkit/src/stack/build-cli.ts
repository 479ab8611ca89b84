// `node packages/testkit/dist/stack/build-cli.js`: builds the stack's Go
// programs that are missing from the cache (run by the set-up before the tests
// and `pnpm stack`), printing progress; exits 1 with what to install when Go is missing.
import { ensureStackBinaries } from './go-programs.js';

const started = Date.now();
try {
  const paths = await ensureStackBinaries();
  const seconds = Math.round((Date.now() - started) / 1000);
  if (seconds > 1) process.stderr.write(`[stack] ready in ${seconds} s: ${Object.keys(paths).join(', ')}\n`);
} catch (error) {
  process.stderr.write(`\n[stack] ${(error as Error).message}\n`);
  process.exit(1);
}
