import type { DashboardJson } from './build.js';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  datasourceUid: string | undefined;
  /** Reads the collector's spanmetrics (traces_span_metrics_*): exists only with a collector in front. */
  needsCollector: boolean;
}

interface PanelLike {
  type?: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: { refId?: string; expr?: string; datasource?: { uid?: string } }[];
  panels?: PanelLike[];
}

/** Every PromQL query of every panel, read back from the dashboard JSON that is committed. */
export function panelQueries(dashboards: readonly DashboardJson[]): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of dashboards) {
    const walk = (panels: PanelLike[] = []) => {
      for (const p of panels) {
        walk(p.panels);
        for (const t of p.targets ?? []) {
          if (!t.expr) continue;
          out.push({
            dashboard: d.title ?? '',
            panel: p.title ?? '',
            refId: t.refId ?? '',
            expr: t.expr,
            datasourceUid: t.datasource?.uid ?? p.datasource?.uid,
            needsCollector: /\btraces_span_metrics_/.test(t.expr),
          });
        }
      }
    };
    walk(d.panels as PanelLike[]);
  }
  return out;
}

/**
 * Grafana's `$__rate_interval` for a direct query: at least 4 scrape intervals
 * and the query step. `window` is what Grafana would pick for the panel.
 */
export function expandGrafanaVariables(expr: string, window: string): string {
  return expr.replaceAll('$__rate_interval', window).replaceAll('$__interval', window);
}
