// Entry point: `node --import @media-cluster/telemetry/register dist/index.js`.
// The app itself is built by createApp() in app.ts (exported as "./app").
import { main } from './main.js';

main().catch((error: unknown) => {
  process.stderr.write(`api failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
