import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDashboards, renderDashboard } from '../src/dashboards/build.js';
import { panelQueries } from '../src/dashboards/panel-queries.js';
import { DASHBOARDS } from '../src/dashboards/spec.js';
import { JAEGER_DATASOURCE, PROMETHEUS_DATASOURCE } from '../src/datasources.js';
import { DASHBOARDS_DIR } from '../src/repo-paths.js';
import { parseYaml, readRepoFile, resolvedCompose } from './support.js';

interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
}

const datasources = parseYaml<{ datasources: Datasource[] }>(
  readRepoFile('observability/grafana/provisioning/datasources/datasources.yml'),
).datasources;
const committed = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) }));

describe('Grafana dashboards', () => {
  it('the committed JSON is exactly what the generator produces now', () => {
    const generated = buildDashboards();
    expect(committed.map((c) => c.file).sort()).toEqual(generated.map((g) => g.file).sort());
    for (const { file, json } of generated) {
      const onDisk = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
      expect(onDisk, `${file} is stale: run pnpm --filter @media-cluster/observability dashboards`).toBe(
        renderDashboard(json),
      );
    }
  });

  it('covers pipeline, API RED, SLOs, security and business, with unique uids', () => {
    expect(committed.map((c) => c.json.uid).sort()).toEqual(
      [
        'media-cluster-api',
        'media-cluster-business',
        'media-cluster-pipeline',
        'media-cluster-security',
        'media-cluster-slo',
      ].sort(),
    );
    for (const { json } of committed) {
      const panels = json.panels.filter((p: { type: string }) => p.type !== 'row');
      expect(panels.length, json.title).toBeGreaterThanOrEqual(4);
      for (const p of panels) expect(p.targets?.length, `${json.title} / ${p.title}`).toBeGreaterThan(0);
    }
  });

  it('uses only datasource uids the provisioning file defines', () => {
    const defined = new Map(datasources.map((d) => [d.uid, d.type]));
    expect(defined.get(PROMETHEUS_DATASOURCE.uid)).toBe(PROMETHEUS_DATASOURCE.type);
    expect(defined.get(JAEGER_DATASOURCE.uid)).toBe(JAEGER_DATASOURCE.type);
    const used: { uid: string; type: string; where: string }[] = [];
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) {
        for (const n of node) walk(n, where);
      } else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        const ds = o.datasource as { uid?: string; type?: string } | undefined;
        if (ds?.uid) used.push({ uid: ds.uid, type: ds.type ?? '', where: `${where} / ${o.title ?? ''}` });
        for (const v of Object.values(o)) walk(v, where);
      }
    };
    for (const { file, json } of committed) walk(json, file);
    expect(used.length).toBeGreaterThan(20);
    for (const u of used) {
      expect(defined.has(u.uid), `${u.where}: datasource uid ${u.uid} is not provisioned`).toBe(true);
      expect(defined.get(u.uid), u.where).toBe(u.type);
    }
  });

  it('Prometheus exemplars link to the Jaeger datasource by trace_id', () => {
    const prometheus = datasources.find((d) => d.uid === PROMETHEUS_DATASOURCE.uid)!;
    expect(prometheus.jsonData?.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: JAEGER_DATASOURCE.uid }),
    ]);
    // Exemplars exist only on the span_metrics histograms (the Node SDK attaches none to
    // its own): the panels that ask for them read those, and only those ask.
    const exemplarTargets = committed.flatMap(({ json }) =>
      json.panels.flatMap((p: { targets?: { exemplar?: boolean; expr?: string }[] }) =>
        (p.targets ?? []).filter((t) => t.exemplar),
      ),
    );
    expect(exemplarTargets.length).toBeGreaterThanOrEqual(3);
    for (const t of exemplarTargets) {
      expect(t.expr).toMatch(/traces_span_metrics_duration_milliseconds_bucket/);
    }
  });

  it('datasource URLs point at the compose services', () => {
    const services = resolvedCompose().services;
    for (const d of datasources) {
      const host = new URL(d.url).hostname;
      expect(Object.keys(services), `${d.name} -> ${d.url}`).toContain(host);
    }
  });

  it('the dashboard provider reads the folder compose mounts the JSON into', () => {
    const provider = parseYaml<{ providers: { type: string; options: { path: string } }[] }>(
      readRepoFile('observability/grafana/provisioning/dashboards/dashboards.yml'),
    ).providers[0]!;
    expect(provider.type).toBe('file');
    const mounts = (resolvedCompose().services.grafana?.volumes ?? []) as string[];
    expect(mounts).toContain(`./observability/grafana/dashboards:${provider.options.path}:ro`);
    expect(mounts).toContain('./observability/grafana/provisioning:/etc/grafana/provisioning:ro');
    const home = resolvedCompose().services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(committed.map((c) => `${provider.options.path}/${c.file}`)).toContain(home);
  });

  it('exports every panel query for the live test, flagging the collector-only ones', () => {
    const queries = panelQueries(committed.map((c) => c.json));
    const specCount = DASHBOARDS.flatMap((d) =>
      d.rows.flatMap((r) => r.panels.flatMap((p) => p.queries)),
    ).length;
    expect(queries.length).toBe(specCount);
    expect(queries.every((q) => q.datasourceUid === PROMETHEUS_DATASOURCE.uid)).toBe(true);
    const collectorOnly = queries.filter((q) => q.needsCollector);
    expect(collectorOnly.map((q) => q.panel).sort()).toEqual([
      'Server span p95 by route (exemplars open the request trace)',
      'Stage span p95 (exemplars open the job trace)',
      'Stream operation p95',
      'Stream operations per second',
    ]);
  });
});
