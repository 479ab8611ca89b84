import { createRequire } from 'node:module';

/** Package version, reported as the instrumentation scope version. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;
