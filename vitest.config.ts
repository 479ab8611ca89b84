import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const projectDirs = [
  ...['packages', 'services'].flatMap((top) =>
    readdirSync(top, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${top}/${d.name}`),
  ),
  // Compose, collector, Prometheus rules and Grafana dashboards as tested code.
  'observability',
];

// Workspace packages are resolved to their TypeScript sources ("source" export
// condition), so tests never run against a stale dist/.
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    globalSetup: [fileURLToPath(new URL('./packages/testkit/src/global-setup.ts', import.meta.url))],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      ...projectDirs.map((dir) => ({
        extends: true,
        test: {
          name: dir.split('/').at(-1),
          root: dir,
          include: ['test/**/*.test.ts'],
        },
      })),
      {
        // The built api and worker as real processes: faults, abuse, npm start, one trace
        // (e2e/README.md). Grouped by what they exercise: e2e/api, e2e/reliability, ...
        extends: true,
        test: {
          name: 'e2e',
          root: 'e2e',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
    ],
  },
});
