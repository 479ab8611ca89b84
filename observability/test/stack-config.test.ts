// The programs the tests run are the ones compose runs, on the same config files:
// the Go modules in observability/stack/ are at the releases .env pins for the
// images; the built collector has exactly the components otel-collector-config.yaml
// uses and accepts the file; Jaeger accepts its config; and the Prometheus config
// the tests run differs from the repo's only in its scrape addresses.
import { execFileSync } from 'node:child_process';
import {
  readRepoPrometheusConfig,
  repoPrometheusConfig,
  repoScrapeAddresses,
  stackBinaryPath,
} from '@media-cluster/testkit';
import { describe, expect, it } from 'vitest';
import { expandCollectorEnv } from '../src/collector-env.js';
import { dotEnv, parseYaml, readRepoFile, repoPath } from './support.js';

/** `module v1.2.3` lines of a go.mod's require blocks. */
function goRequires(file: string): Map<string, string> {
  const text = readRepoFile(file);
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^\s*([\w./-]+) (v[\w.+-]+)(?: \/\/ indirect)?$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

describe('the Go modules are the releases .env pins', () => {
  const env = dotEnv();

  it('the collector: every collector module, core and contrib, at the contrib image release', () => {
    const requires = goRequires('observability/stack/collector/go.mod');
    const collector = [...requires].filter(
      ([m]) =>
        m.startsWith('go.opentelemetry.io/collector') ||
        m.startsWith('github.com/open-telemetry/opentelemetry-collector-contrib/'),
    );
    expect(collector.length).toBeGreaterThan(20);
    const release = `v${env.OTEL_COLLECTOR_VERSION}`;
    // Core's unstable (0.x) and every contrib module share the release; core's stable
    // modules (1.x) move in lockstep with it (v0.165.0 <-> v1.71.0).
    const zeroX = collector.filter(([, v]) => v.startsWith('v0.'));
    expect(zeroX.filter(([, v]) => v !== release)).toEqual([]);
    const oneX = new Set(collector.filter(([, v]) => v.startsWith('v1.')).map(([, v]) => v));
    expect([...oneX]).toEqual(['v1.71.0']);
    expect(readRepoFile('observability/stack/collector/components.go')).toContain(`release = "${release}"`);
    expect(readRepoFile('observability/otel-collector/Dockerfile')).toContain(
      `ARG OTEL_COLLECTOR_VERSION=${env.OTEL_COLLECTOR_VERSION}`,
    );
  });

  it('Jaeger: module v1.N is release 2.(N-63), the image .env pins', () => {
    // Jaeger tags each release twice (v1.72.0 / v2.9.0, v1.73.0 / v2.10.0, v1.74.0 / v2.11.0, …).
    const v1 = goRequires('observability/stack/jaeger/go.mod').get('github.com/jaegertracing/jaeger');
    const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(v1 ?? '') ?? [];
    expect(v1).toBe('v1.75.0');
    expect(env.JAEGER_VERSION).toBe(`2.${Number(minor) - 63}.${patch}`);
  });

  it('Prometheus: module v0.3MM.P is release v3.MM.P, the image .env pins', () => {
    const v0 = goRequires('observability/stack/prometheus/go.mod').get('github.com/prometheus/prometheus');
    const [, minor, patch] = /^v0\.3(\d\d)\.(\d+)$/.exec(v0 ?? '') ?? [];
    expect(v0).toBe('v0.316.0');
    expect(env.PROMETHEUS_VERSION).toBe(`v3.${Number(minor)}.${patch}`);
    const built = execFileSync(stackBinaryPath('prometheus'), ['--version'], { encoding: 'utf8' });
    expect(built).toContain(`version ${env.PROMETHEUS_VERSION!.slice(1)}`);
  });
});

describe('the built collector and Jaeger accept the repo configs', () => {
  const config = parseYaml<Record<string, Record<string, unknown>>>(
    expandCollectorEnv(readRepoFile('otel-collector-config.yaml'), {}),
  );
  const used = (kind: string) =>
    [...new Set(Object.keys(config[kind] ?? {}).map((id) => id.split('/')[0]!))].sort();

  it('the collector has exactly the components the config uses (as ocb would build it)', () => {
    const out = execFileSync(stackBinaryPath('otelcol-media-cluster'), ['components'], { encoding: 'utf8' });
    const components = parseYaml<Record<string, { name: string; module: string }[]>>(out);
    for (const kind of ['receivers', 'processors', 'exporters', 'connectors', 'extensions']) {
      expect(components[kind]!.map((c) => c.name).sort(), kind).toEqual(used(kind));
      for (const c of components[kind]!) expect(c.module, `${kind} ${c.name}`).toMatch(/ v0\.165\.0$/);
    }
  });

  it('`validate` accepts otel-collector-config.yaml (collector) and observability/jaeger/config.yaml (Jaeger)', () => {
    // execFileSync throws on a non-zero exit, with the program's message.
    execFileSync(stackBinaryPath('otelcol-media-cluster'), [
      'validate',
      `--config=${repoPath('otel-collector-config.yaml')}`,
    ]);
    execFileSync(stackBinaryPath('jaeger'), [
      'validate',
      '--config',
      repoPath('observability/jaeger/config.yaml'),
    ]);
  });

  it('a broken config is refused (the check can fail)', () => {
    expect(() =>
      execFileSync(
        stackBinaryPath('otelcol-media-cluster'),
        ['validate', '--config=yaml:receivers::no_such_receiver:'],
        { stdio: 'pipe' },
      ),
    ).toThrow();
  });
});

describe('the Prometheus config the tests run', () => {
  const original = readRepoPrometheusConfig();
  const addresses = Object.fromEntries(
    repoScrapeAddresses().map((a, i) => [a, [`127.0.0.1:${20000 + i}`, `127.0.0.1:${30000 + i}`]]),
  );
  const generated = parseYaml<typeof original>(repoPrometheusConfig(addresses));

  it('scrapes every address of the repo config, and only those', () => {
    expect(repoScrapeAddresses().sort()).toEqual(
      [
        'api:9464',
        'jaeger:8888',
        'localhost:9090',
        'otel-collector:8888',
        'otel-collector:8889',
        'worker:9465',
      ].sort(),
    );
    const targets = generated.scrape_configs.flatMap((j) =>
      (j.static_configs ?? []).flatMap((s) => s.targets),
    );
    expect(targets.sort()).toEqual(Object.values(addresses).flat().sort());
  });

  it('differs from observability/prometheus/prometheus.yml only in the scrape addresses', () => {
    const withoutAddresses = (config: typeof original) => ({
      ...config,
      scrape_configs: config.scrape_configs.map(({ static_configs, dns_sd_configs, ...rest }) => ({
        ...rest,
        // Static labels on a target group stay; only the targets (and DNS discovery) differ.
        labels: (static_configs ?? []).flatMap((s) => (s.labels ? [s.labels] : [])),
      })),
    });
    expect(withoutAddresses(generated)).toEqual(withoutAddresses(original));
    expect(generated.rule_files).toEqual(['rules/*.yml']);
  });

  it('an address with no mapping is an error, not a silent gap', () => {
    const { 'jaeger:8888': _dropped, ...partial } = addresses;
    expect(() => repoPrometheusConfig(partial)).toThrow(/jaeger:8888/);
  });
});
