// The values testkit's global setup provides (see packages/testkit/src/global-setup.ts).
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
  }
}
