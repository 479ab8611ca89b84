import { writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPrometheusConfig,
  makeTempDir,
  type PrometheusHandle,
  promtool,
  removeTempDir,
  startPrometheus,
  waitFor,
} from '../src/index.js';

function serve(handler: RequestListener): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

const RULES = {
  groups: [
    {
      name: 'probe',
      rules: [
        { record: 'job:probe_jobs:sum', expr: 'sum by (job) (probe_jobs_total)' },
        {
          alert: 'ProbeJobsHigh',
          expr: 'probe_jobs_total > 3',
          labels: { severity: 'page' },
          annotations: { summary: 'queue {{ $labels.queue }} has {{ $value }} jobs' },
        },
      ],
    },
  ],
};

describe('startPrometheus', () => {
  let jobs = 5;
  let plain: Server; // text format at /metrics, bearer-protected at /secure
  let openMetrics: Server; // OpenMetrics with an exemplar at /custom/path
  let prometheus: PrometheusHandle;
  let dir: string;
  let rulesFile: string;

  beforeAll(async () => {
    plain = await serve((req, res) => {
      if (req.url === '/secure') {
        if (req.headers.authorization !== 'Bearer s3cret') return void res.writeHead(401).end('no');
        // Prometheus 3 refuses a scrape without a valid Content-Type.
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        return void res.end('probe_secure 1\n');
      }
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# TYPE probe_jobs_total counter\nprobe_jobs_total{queue="a"} ${jobs}\n`);
    });
    openMetrics = await serve((_req, res) => {
      res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
      res.end(
        [
          '# TYPE probe_custom gauge',
          'probe_custom 1',
          '# TYPE probe_latency histogram',
          `probe_latency_bucket{le="1.0"} 1 # {trace_id="${TRACE_ID}"} 0.5`,
          'probe_latency_bucket{le="+Inf"} 1',
          'probe_latency_count 1',
          'probe_latency_sum 0.5',
          '# EOF',
          '',
        ].join('\n'),
      );
    });
    dir = makeTempDir('prometheus-test');
    rulesFile = join(dir, 'rules.yml');
    writeFileSync(rulesFile, JSON.stringify(RULES)); // JSON is YAML
    const a = `127.0.0.1:${portOf(plain)}`;
    prometheus = await startPrometheus({
      scrapeTargets: [
        a,
        `http://127.0.0.1:${portOf(openMetrics)}/custom/path`,
        { job: 'secured', targets: [a], metricsPath: '/secure', bearerToken: 's3cret' },
        { job: 'no-token', targets: [a], metricsPath: '/secure' },
      ],
      ruleFiles: [rulesFile],
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await prometheus?.stop(); // safe twice
    await Promise.all([plain, openMetrics].map((s) => new Promise((r) => s?.close(r))));
    if (dir) removeTempDir(dir);
  });

  it('scrapes its targets and answers PromQL', async () => {
    const [sample] = await prometheus.waitForQuery('probe_jobs_total');
    expect(sample).toMatchObject({
      metric: {
        __name__: 'probe_jobs_total',
        job: 'testkit',
        queue: 'a',
        instance: `127.0.0.1:${portOf(plain)}`,
      },
      value: 5,
    });
    const [custom] = await prometheus.waitForQuery('probe_custom');
    expect(custom!.metric.instance).toBe(`127.0.0.1:${portOf(openMetrics)}`);

    const up = await prometheus.waitForQuery('up', (s) => s.length === 4);
    const byJob = up.map((s) => `${s.metric.job}=${s.value}`).sort();
    expect(byJob).toEqual(['no-token=0', 'secured=1', 'testkit=1', 'testkit=1']);
    const refused = (await prometheus.targets()).find((t) => t.job === 'no-token');
    expect(refused).toMatchObject({ health: 'down', lastError: expect.stringMatching(/401/) });
  });

  it('sees new values, and queryRange returns the history', async () => {
    jobs = 11;
    await prometheus.waitForQuery('probe_jobs_total', (s) => s[0]?.value === 11);
    const now = Date.now();
    const [series] = await prometheus.queryRange('probe_jobs_total', {
      startMs: now - 60_000,
      endMs: now,
      stepMs: 500,
    });
    const values = new Set(series!.values.map((v) => v.value));
    expect(values.has(5) && values.has(11)).toBe(true);
  });

  it('stores exemplars from OpenMetrics targets', async () => {
    const found = await waitFor(
      async () => {
        const now = Date.now();
        const series = await prometheus.exemplars('probe_latency_bucket', {
          startMs: now - 120_000,
          endMs: now + 1_000,
        });
        return series.find((s) => s.exemplars.some((e) => e.labels.trace_id === TRACE_ID));
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'an exemplar with the trace id' },
    );
    expect(found.seriesLabels.le).toBe('1.0');
    expect(found.exemplars[0]!.value).toBe(0.5);
  });

  it('evaluates rule files: recording rules and alerts', async () => {
    const [recorded] = await prometheus.waitForQuery('job:probe_jobs:sum', (s) => s[0]?.value === 11);
    expect(recorded!.metric.job).toBe('testkit');
    const alert = await waitFor(
      async () =>
        (await prometheus.alerts()).find(
          (a) => a.labels.alertname === 'ProbeJobsHigh' && a.state === 'firing',
        ),
      { timeoutMs: 15_000, intervalMs: 250, what: 'ProbeJobsHigh to fire' },
    );
    expect(alert).toMatchObject({ labels: { severity: 'page', queue: 'a' }, value: 11 });
    const rules = (await prometheus.rules()).flatMap((g) => g.rules);
    expect(rules.map((r) => `${r.name}:${r.health}`).sort()).toEqual([
      'ProbeJobsHigh:ok',
      'job:probe_jobs:sum:ok',
    ]);
  });

  it('promtool checks rule files and runs rule unit tests', async () => {
    const check = await promtool(['check', 'rules', rulesFile]);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);

    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      JSON.stringify({ groups: [{ name: 'x', rules: [{ record: 'r', expr: 'sum(' }] }] }),
    );
    const bad = await promtool(['check', 'rules', broken]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/unclosed left parenthesis|parse error/);

    const unitTest = join(dir, 'rules.test.yml');
    writeFileSync(
      unitTest,
      JSON.stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'probe_jobs_total{job="testkit",queue="a"}', values: '5 5 5' }],
            alert_rule_test: [
              {
                eval_time: '2m',
                alertname: 'ProbeJobsHigh',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'page', job: 'testkit', queue: 'a' },
                    exp_annotations: { summary: 'queue a has 5 jobs' },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const tested = await promtool(['test', 'rules', 'rules.test.yml'], { cwd: dir });
    expect(tested.exitCode, tested.stdout + tested.stderr).toBe(0);
  });

  it('reload() applies new scrape targets', async () => {
    await prometheus.reload({ scrapeTargets: [`127.0.0.1:${portOf(plain)}`] });
    await waitFor(async () => (await prometheus.targets()).length === 1, { what: 'one target after reload' });
    const [target] = await prometheus.targets();
    expect(target).toMatchObject({ job: 'testkit', scrapeUrl: `http://127.0.0.1:${portOf(plain)}/metrics` });
  });

  it('kill() is seen as down; restart() scrapes again on the same port', async () => {
    const { url } = prometheus;
    await prometheus.kill();
    await expect(prometheus.query('up')).rejects.toThrow();
    jobs = 21; // only a scrape after the restart can see this value
    await prometheus.restart();
    expect(prometheus.url).toBe(url);
    const [sample] = await prometheus.waitForQuery('probe_jobs_total', (s) => s[0]?.value === 21);
    expect(sample!.metric.instance).toBe(`127.0.0.1:${portOf(plain)}`);
  });

  it('rejects bad options before starting anything', () => {
    expect(() =>
      buildPrometheusConfig({
        scrapeTargets: [],
        ruleFiles: [],
        scrapeIntervalMs: 0.5,
        evaluationIntervalMs: 1,
      }),
    ).toThrow(/positive whole ms/);
    expect(() =>
      buildPrometheusConfig({
        scrapeTargets: ['a:1', { job: 'testkit', targets: ['b:1'] }],
        ruleFiles: [],
        scrapeIntervalMs: 1_000,
        evaluationIntervalMs: 1_000,
      }),
    ).toThrow(/Duplicate scrape job "testkit"/);
  });
});
