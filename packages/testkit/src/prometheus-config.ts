/** A scrape job: `job` becomes the `job` label of every series it scrapes. */
export interface ScrapeJob {
  job: string;
  /** `host:port` entries (or full URLs, whose scheme and path override the job's). */
  targets: string[];
  /** @defaultValue '/metrics' */
  metricsPath?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Keep the scraped `job`/`instance` labels instead of overwriting them (e.g. for a collector). @defaultValue false */
  honorLabels?: boolean;
}

/** A bare target (`host:port` or `http://host:port/path`) joins the job named `testkit`. */
export type ScrapeTarget = string | ScrapeJob;

export interface PrometheusConfigInput {
  scrapeTargets: readonly ScrapeTarget[];
  ruleFiles: readonly string[];
  scrapeIntervalMs: number;
  evaluationIntervalMs: number;
}

/** The job bare string targets are scraped under. */
export const DEFAULT_JOB = 'testkit';

interface StaticConfig {
  targets: string[];
  labels?: Record<string, string>;
}

/**
 * `http://h:p/path` -> target `h:p` with `__scheme__`/`__metrics_path__` labels,
 * which Prometheus lets a target set for itself; `h:p` stays as it is.
 */
function staticConfig(target: string): StaticConfig {
  if (!/^https?:\/\//.test(target)) return { targets: [target] };
  const url = new URL(target);
  const labels: Record<string, string> = { __scheme__: url.protocol.replace(':', '') };
  if (url.pathname && url.pathname !== '/') labels.__metrics_path__ = url.pathname;
  return { targets: [url.host], labels };
}

function duration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0)
    throw new Error(`Prometheus durations must be positive whole ms, got ${ms}`);
  return `${ms}ms`;
}

/**
 * prometheus.yml for a test instance. Returned as JSON, which is valid YAML,
 * so no YAML library is needed.
 */
export function buildPrometheusConfig(input: PrometheusConfigInput): string {
  const bare = input.scrapeTargets.filter((t): t is string => typeof t === 'string');
  const jobs = input.scrapeTargets.filter((t): t is ScrapeJob => typeof t !== 'string');
  if (bare.length > 0) jobs.unshift({ job: DEFAULT_JOB, targets: bare });
  const names = jobs.map((j) => j.job);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate)
    throw new Error(`Duplicate scrape job "${duplicate}" (bare targets use the job "${DEFAULT_JOB}")`);

  const config = {
    global: {
      scrape_interval: duration(input.scrapeIntervalMs),
      // Prometheus refuses a timeout longer than the interval (default timeout: 10 s).
      scrape_timeout: duration(Math.min(input.scrapeIntervalMs, 10_000)),
      evaluation_interval: duration(input.evaluationIntervalMs),
    },
    rule_files: [...input.ruleFiles],
    scrape_configs: jobs.map((job) => ({
      job_name: job.job,
      metrics_path: job.metricsPath ?? '/metrics',
      honor_labels: job.honorLabels ?? false,
      ...(job.bearerToken ? { authorization: { type: 'Bearer', credentials: job.bearerToken } } : {}),
      static_configs: job.targets.map(staticConfig),
    })),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
