export { collectorEnvRefs, type EnvRef, expandCollectorEnv } from './collector-env.js';
export { type Interpolation, interpolate, parseDotEnv } from './compose-env.js';
export { buildDashboard, buildDashboards, type DashboardJson, renderDashboard } from './dashboards/build.js';
export { expandGrafanaVariables, type PanelQuery, panelQueries } from './dashboards/panel-queries.js';
export {
  DASHBOARDS,
  type DashboardSpec,
  type PanelKind,
  type PanelSpec,
  type QuerySpec,
  type RowSpec,
} from './dashboards/spec.js';
export { JAEGER_DATASOURCE, PROMETHEUS_DATASOURCE } from './datasources.js';
export { DASHBOARDS_DIR, REPO_ROOT } from './repo-paths.js';
