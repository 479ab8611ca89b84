import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS_DATASOURCE } from '../datasources.js';
import { DASHBOARDS, type DashboardSpec, type PanelSpec } from './spec.js';

/** Grafana dashboard JSON as the SDK builds it. */
export type DashboardJson = dashboard.Dashboard;

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function thresholds(panel: PanelSpec) {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    // Grafana's base step has value null: the colour below the first threshold.
    { value: null as unknown as number, color: panel.baseColor ?? 'green' },
    ...(panel.thresholds ?? []).map(([value, color]) => ({ value, color })),
  ]);
}

function targets(panel: PanelSpec) {
  return panel.queries.map((q, i) => {
    const target = new DataqueryBuilder()
      .refId(REF_IDS[i] ?? `Q${i}`)
      .expr(q.expr)
      .datasource(PROMETHEUS_DATASOURCE)
      .range();
    if (q.legend) target.legendFormat(q.legend);
    if (q.exemplar) target.exemplar(true);
    return target;
  });
}

function panelBuilder(panel: PanelSpec) {
  if (panel.kind === 'stat') {
    const b = new stat.PanelBuilder()
      .title(panel.title)
      .description(panel.description)
      .datasource(PROMETHEUS_DATASOURCE)
      .unit(panel.unit)
      .thresholds(thresholds(panel))
      .colorMode(common.BigValueColorMode.Background)
      .graphMode(common.BigValueGraphMode.Area)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      .height(5)
      .span(panel.width ?? 6);
    for (const t of targets(panel)) b.withTarget(t);
    if (panel.min !== undefined) b.min(panel.min);
    if (panel.max !== undefined) b.max(panel.max);
    return b;
  }
  const b = new timeseries.PanelBuilder()
    .title(panel.title)
    .description(panel.description)
    .datasource(PROMETHEUS_DATASOURCE)
    .unit(panel.unit)
    .thresholds(thresholds(panel))
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .lineWidth(1)
    .fillOpacity(10)
    .height(8)
    .span(panel.width ?? 12);
  if (panel.thresholds?.length) {
    b.thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  for (const t of targets(panel)) b.withTarget(t);
  if (panel.min !== undefined) b.min(panel.min);
  if (panel.max !== undefined) b.max(panel.max);
  return b;
}

/** One dashboard's JSON, deterministic (no ids or timestamps that change per run). */
export function buildDashboard(spec: DashboardSpec): DashboardJson {
  const d = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .readonly()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(
      new dashboard.DashboardLinkBuilder('Media cluster dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['media-cluster'])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    );
  for (const row of spec.rows) {
    d.withRow(new dashboard.RowBuilder(row.title));
    for (const panel of row.panels) d.withPanel(panelBuilder(panel));
  }
  return d.build();
}

/** Every dashboard, with the file name it is committed under. */
export function buildDashboards(): { file: string; json: DashboardJson }[] {
  return DASHBOARDS.map((spec) => ({ file: spec.file, json: buildDashboard(spec) }));
}

/** The committed form: stable key order from the SDK, 2-space indent, final newline. */
export function renderDashboard(json: DashboardJson): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}
