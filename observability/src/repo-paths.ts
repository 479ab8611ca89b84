import { fileURLToPath } from 'node:url';

/** Repository root (this file is observability/src/repo-paths.ts or observability/dist/repo-paths.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the generated dashboards are committed. */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../grafana/dashboards/', import.meta.url));
