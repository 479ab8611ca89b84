// Regenerates docs/openapi.json from src/contract/ (the zod schemas and the operation table):
//   pnpm --filter @media-cluster/api openapi
// test/openapi.test.ts fails while the committed file differs from this output.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from './contract/openapi.js';

const target = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
writeFileSync(target, renderOpenApiDocument());
process.stdout.write(`wrote ${target}\n`);
