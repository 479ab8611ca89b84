import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, promtool, removeTempDir } from '@media-cluster/testkit';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DASHBOARDS_DIR } from '../src/repo-paths.js';
import { parseYaml, readRepoFile, repoPath } from './support.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: { alertname: string; eval_time: string; exp_alerts: unknown[] }[];
}

const PROM_DIR = repoPath('observability/prometheus');
const ruleFiles = readdirSync(repoPath('observability/prometheus/rules')).filter((f) => f.endsWith('.yml'));
const testFiles = readdirSync(repoPath('observability/prometheus/tests')).filter((f) =>
  f.endsWith('.test.yml'),
);
const rules: Rule[] = ruleFiles.flatMap(
  (f) =>
    parseYaml<{ groups: { rules: Rule[] }[] }>(
      readRepoFile('observability/prometheus/rules', f),
    ).groups.flatMap((g) => g.rules) ?? [],
);
const alerts = rules.filter((r) => r.alert);
const runbook = readRepoFile('docs/runbook.md');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchors = new Set(
  [...runbook.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
    m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  ),
);

describe('Prometheus config and rules', () => {
  it('promtool check config accepts prometheus.yml (and the rule files it loads)', async () => {
    const result = await promtool(['check', 'config', 'prometheus.yml'], { cwd: PROM_DIR });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    // rule_files is a glob relative to the config: check it really found the files.
    for (const f of ruleFiles) expect(result.stdout).toContain(f);
  });

  it('promtool check rules accepts every rule file', async () => {
    const result = await promtool(['check', 'rules', ...ruleFiles.map((f) => `rules/${f}`)], {
      cwd: PROM_DIR,
    });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  });

  it('promtool test rules: every unit test passes', async () => {
    // One promtool per file, side by side: the files are independent.
    const results = await Promise.all(
      testFiles.map(async (f) => ({
        f,
        ...(await promtool(['test', 'rules', `tests/${f}`], { cwd: PROM_DIR })),
      })),
    );
    for (const { f, exitCode, stdout, stderr } of results) {
      expect(exitCode, `${f}\n${stdout}${stderr}`).toBe(0);
      expect(stdout, f).toMatch(/SUCCESS/);
    }
  });

  it('promtool test rules fails when an alert stops firing (the tests can fail)', async () => {
    // The ServiceDown unit tests, first against the real rules (they pass), then against
    // a rule set where ServiceDown never fires (they must fail). Only the groups that
    // test it, so the check stays quick.
    const dir = makeTempDir('promtool-mutant');
    try {
      const source = parseYaml<{ tests: RuleTest[] }>(
        readRepoFile('observability/prometheus/tests/availability.test.yml'),
      );
      const tests = source.tests.filter((t) =>
        (t.alert_rule_test ?? []).some((c) => c.alertname === 'ServiceDown'),
      );
      expect(tests.length).toBeGreaterThan(0);
      mkdirSync(`${dir}/rules`);
      mkdirSync(`${dir}/tests`);
      writeFileSync(`${dir}/tests/service-down.test.yml`, stringify({ ...source, tests }));
      const withRules = async (mutate: (text: string) => string) => {
        for (const f of ruleFiles) {
          writeFileSync(`${dir}/rules/${f}`, mutate(readRepoFile('observability/prometheus/rules', f)));
        }
        return promtool(['test', 'rules', 'tests/service-down.test.yml'], { cwd: dir });
      };
      const real = await withRules((text) => text);
      expect(real.exitCode, real.stdout + real.stderr).toBe(0);
      const mutant = await withRules((text) =>
        text.replace(
          'up{job=~"media-cluster-api|media-cluster-worker"} == 0',
          'up{job=~"media-cluster-api|media-cluster-worker"} == 2',
        ),
      );
      expect(mutant.exitCode).toBe(1);
      expect(mutant.stdout + mutant.stderr).toMatch(/alertname: ServiceDown/);
    } finally {
      removeTempDir(dir);
    }
  });

  it('has the alerts the SLOs and the telemetry path call for', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'ApiAvailabilityBelowSLO',
        'ApiMetricsAbsent',
        'ApiErrorBudgetBurnFast',
        'ApiErrorBudgetBurnGradual',
        'ApiErrorBudgetBurnMedium',
        'ApiErrorBudgetBurnSlow',
        'DeadLetterQueueGrowing',
        'EtagHitRatioLow',
        'HttpLatencyP95High',
        'IdempotencyConflictRateHigh',
        'JobBacklogNearCeiling',
        'JobErrorRateHigh',
        'JobSuccessRatioLow',
        'NoWorkerRunning',
        'OtelCollectorDown',
        'OtelCollectorDroppingData',
        'OtelCollectorRefusingData',
        'PendingBacklogGrowing',
        'ProcessMemoryHigh',
        'ProcessingP95High',
        'QueueLatencyP95High',
        'ServiceDown',
        'SpanMetricsAbsent',
        'WebhookDeliveryP95High',
        'WebhookFailures',
        'WorkerMetricsAbsent',
      ].sort(),
    );
  });

  it.each(alerts.map((a) => [a.alert!, a] as const))(
    '%s has a severity, summary, description and a runbook anchor that exists',
    (name, alert) => {
      expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary?.length, `${name} summary`).toBeGreaterThan(10);
      expect(alert.annotations?.description?.length, `${name} description`).toBeGreaterThan(20);
      const url = alert.annotations?.runbook_url ?? '';
      expect(url).toMatch(/^docs\/runbook\.md#[a-z0-9-]+$/);
      const anchor = url.split('#')[1]!;
      expect(anchors.has(anchor), `docs/runbook.md has no heading for #${anchor}`).toBe(true);
    },
  );

  it('every alert is unit-tested firing and staying quiet', () => {
    const tests = testFiles.flatMap(
      (f) => parseYaml<{ tests: RuleTest[] }>(readRepoFile('observability/prometheus/tests', f)).tests,
    );
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} is never seen firing`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is never seen quiet`,
      ).toBe(true);
    }
  });

  it('alerts read one source per series (no job filter that would mix collector and direct scrapes)', () => {
    // The collector path keeps job = service name (honor_labels), the direct scrape
    // drops its samples: a selector on metric name alone never double counts.
    const prom = parseYaml<{
      scrape_configs: { job_name: string; metric_relabel_configs?: { regex: string; action: string }[] }[];
    }>(readRepoFile('observability/prometheus/prometheus.yml'));
    for (const job of ['media-cluster-api', 'media-cluster-worker']) {
      const cfg = prom.scrape_configs.find((j) => j.job_name === job);
      expect(cfg?.metric_relabel_configs, job).toEqual([
        expect.objectContaining({ regex: '.+', action: 'drop' }),
      ]);
    }
    const compose = parseYaml<{ services: Record<string, { environment?: Record<string, string> }> }>(
      readRepoFile('docker-compose.yml'),
    );
    // The service names the collector path turns into `job` are the direct scrape job names.
    expect(compose.services.api?.environment?.OTEL_SERVICE_NAME).toBe('media-cluster-api');
    expect(compose.services.worker?.environment?.OTEL_SERVICE_NAME).toBe('media-cluster-worker');
  });

  it('docs/runbook.md has a section for every alert and names no alert that does not exist', () => {
    const names = new Set(alerts.map((a) => a.alert!));
    const sections = [...runbook.matchAll(/^### (\w+)$/gm)].map((m) => m[1]!);
    expect(new Set(sections)).toEqual(names);
  });

  describe('docs/runbook.md, per alert: what it means, which panel and trace to open, first steps', () => {
    /** Panel titles per dashboard, keyed by the short name the runbook uses ("API" for "Media cluster / API (RED by route)"). */
    const dashboards = readdirSync(DASHBOARDS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        const json = JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as {
          title: string;
          panels: { title: string; panels?: { title: string }[] }[];
        };
        const titles = json.panels.flatMap((p) => [p.title, ...(p.panels ?? []).map((c) => c.title)]);
        return { title: json.title.replace(/^Media cluster \/ /, ''), titles };
      });
    const sections = new Map(
      runbook
        .split(/^### /m)
        .slice(1)
        .map((s) => [s.slice(0, s.indexOf('\n')).trim(), s] as const),
    );

    it.each(alerts.map((a) => a.alert!))('%s', (name) => {
      const section = sections.get(name) ?? '';
      expect(section, `no section for ${name}`).not.toBe('');
      for (const part of ['**Means:**', '**Open:**', '**First steps:**']) {
        expect(section, `${name}: ${part}`).toContain(part);
      }
      const open = section
        .slice(section.indexOf('**Open:**'), section.indexOf('**First steps:**'))
        .replace(/`[^`]*`/g, '') // code spans (metric names, tags) are not panel names
        .replace(/\s+/g, ' ');
      expect(open, `${name}: no trace to open`).toMatch(/Jaeger|trace/);
      // "_Dashboard_ -> _Panel_, _Panel_": every panel named exists on the dashboard named before it.
      let dashboard: (typeof dashboards)[number] | undefined;
      let panels = 0;
      for (const m of open.matchAll(/_([^_]+)_( ->)?/g)) {
        const text = m[1]!.trim();
        if (m[2]) {
          dashboard = dashboards.find((d) => d.title === text || d.title.startsWith(`${text} (`));
          expect(dashboard, `${name}: no dashboard "${text}"`).toBeDefined();
          continue;
        }
        expect(dashboard, `${name}: panel "${text}" named before any dashboard`).toBeDefined();
        expect(
          dashboard!.titles.some((t) => t === text || t.startsWith(text)),
          `${name}: no panel "${text}" on ${dashboard!.title}`,
        ).toBe(true);
        panels++;
      }
      expect(panels, `${name}: no panel to open`).toBeGreaterThan(0);
    });
  });
});
