// Regenerates observability/grafana/dashboards/*.json from src/dashboards/spec.ts:
//   pnpm --filter @media-cluster/observability dashboards
// test/dashboards.test.ts fails while the committed JSON differs from this output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboards, renderDashboard } from './dashboards/build.js';
import { DASHBOARDS_DIR } from './repo-paths.js';

mkdirSync(DASHBOARDS_DIR, { recursive: true });
for (const { file, json } of buildDashboards()) {
  writeFileSync(join(DASHBOARDS_DIR, file), renderDashboard(json));
  process.stdout.write(`wrote ${join(DASHBOARDS_DIR, file)}\n`);
}
