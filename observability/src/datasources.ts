/**
 * Fixed datasource uids: the dashboards reference these, and
 * observability/grafana/provisioning/datasources/datasources.yml defines them
 * (a test checks both sides).
 */
export const PROMETHEUS_DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;
export const JAEGER_DATASOURCE = { type: 'jaeger', uid: 'jaeger' } as const;
