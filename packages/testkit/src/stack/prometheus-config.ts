import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../repo-root.js';

export const REPO_PROMETHEUS_DIR = join(REPO_ROOT, 'observability', 'prometheus');

/**
 * Where each address of the compose network is reachable here, keyed as the
 * repo's prometheus.yml names it: `otel-collector:8889`, `localhost:9090`, and
 * for DNS service discovery `<name>:<port>` (`worker:9465`). An empty list
 * means "nothing there yet" (a job with no targets).
 */
export type ScrapeAddresses = Readonly<Record<string, readonly string[]>>;

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  dns_sd_configs?: { names: string[]; port: number; type?: string; refresh_interval?: string }[];
  [key: string]: unknown;
}

interface PromConfig {
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

/** The repo's observability/prometheus/prometheus.yml, parsed. */
export function readRepoPrometheusConfig(): PromConfig {
  return parse(readFileSync(join(REPO_PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as PromConfig;
}

/** Every address the repo's config scrapes, in the keys `ScrapeAddresses` takes. */
export function repoScrapeAddresses(config = readRepoPrometheusConfig()): string[] {
  return config.scrape_configs.flatMap((job) => [
    ...(job.static_configs ?? []).flatMap((s) => s.targets),
    ...(job.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`)),
  ]);
}

/**
 * The repo's prometheus.yml with only the scrape addresses changed: each
 * static target and each DNS-discovered name becomes the addresses it has
 * here (DNS discovery becomes a static list, there being no compose DNS).
 * Everything else (intervals, relabelling, honor_labels, rule_files, external
 * labels) is kept as written. An address with no mapping is an error.
 */
export function repoPrometheusConfig(
  addresses: ScrapeAddresses,
  config = readRepoPrometheusConfig(),
): string {
  const lookup = (key: string) => {
    const mapped = addresses[key];
    if (!mapped) throw new Error(`no address given for ${key} (scraped by the repo's prometheus.yml)`);
    return [...mapped];
  };
  const scrapeConfigs = config.scrape_configs.map((job) => {
    const { dns_sd_configs: dns, static_configs: statics, ...rest } = job;
    const targets = [
      ...(statics ?? []).map((s) => ({ ...s, targets: s.targets.flatMap(lookup) })),
      ...(dns ?? []).map((d) => ({ targets: d.names.flatMap((n) => lookup(`${n}:${d.port}`)) })),
    ];
    return { ...rest, static_configs: targets };
  });
  return stringify({ ...config, scrape_configs: scrapeConfigs });
}

/**
 * The repo's rule files (observability/prometheus/rules/*.yml) by relative
 * path, for `startPrometheus({ files })`; `transform` may edit each text.
 */
export function repoRuleFiles(transform: (text: string, file: string) => string = (t) => t) {
  const dir = join(REPO_PROMETHEUS_DIR, 'rules');
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => [`rules/${f}`, transform(readFileSync(join(dir, f), 'utf8'), f)]),
  );
}
