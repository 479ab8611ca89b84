import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { makeTempDir, promtool, removeTempDir } from '@media-cluster/testkit';
import { describe, expect, it } from 'vitest';
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
    const result = await promtool(['test', 'rules', ...testFiles.map((f) => `tests/${f}`)], {
      cwd: PROM_DIR,
    });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect((result.stdout.match(/SUCCESS/g) ?? []).length).toBe(testFiles.length);
  });

  it('promtool test rules fails when an alert stops firing (the tests can fail)', async () => {
    // Same tests against a rule set where ServiceDown never fires.
    const dir = makeTempDir('promtool-mutant');
    try {
      mkdirSync(`${dir}/rules`);
      mkdirSync(`${dir}/tests`);
      for (const f of ruleFiles) {
        const text = readRepoFile('observability/prometheus/rules', f).replace(
          'up{job=~"media-cluster-api|media-cluster-worker"} == 0',
          'up{job=~"media-cluster-api|media-cluster-worker"} == 2',
        );
        writeFileSync(`${dir}/rules/${f}`, text);
      }
      writeFileSync(
        `${dir}/tests/availability.test.yml`,
        readRepoFile('observability/prometheus/tests/availability.test.yml'),
      );
      const result = await promtool(['test', 'rules', 'tests/availability.test.yml'], { cwd: dir });
      expect(result.exitCode).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/alertname: ServiceDown/);
    } finally {
      removeTempDir(dir);
    }
  });

  it('has the alerts the SLOs call for', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'ApiAvailabilityBelowSLO',
        'ApiErrorBudgetBurnFast',
        'ApiErrorBudgetBurnGradual',
        'ApiErrorBudgetBurnMedium',
        'ApiErrorBudgetBurnSlow',
        'DeadLetterQueueGrowing',
        'EtagHitRatioLow',
        'HttpLatencyP95High',
        'IdempotencyConflictRateHigh',
        'JobErrorRateHigh',
        'JobSuccessRatioLow',
        'NoWorkerRunning',
        'PendingBacklogGrowing',
        'ProcessMemoryHigh',
        'ProcessingP95High',
        'QueueLatencyP95High',
        'ServiceDown',
        'WebhookDeliveryP95High',
        'WebhookFailures',
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
});
