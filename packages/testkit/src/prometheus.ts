import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort } from './free-port.js';
import { makeTempDir, removeTempDir, type Spawned, spawnTracked, stopProcess } from './processes.js';
import { createPrometheusApi, type PrometheusApi, type PromSample } from './prometheus-api.js';
import { buildPrometheusConfig, type ScrapeTarget } from './prometheus-config.js';
import { ownedHandle, type ServiceHandle } from './service-handle.js';
import { stackBinaryPath } from './stack/go-programs.js';
import { type WaitOptions, waitFor } from './wait-for.js';

export interface PrometheusOptions {
  /** What to scrape: bare `host:port`/URL strings (job `testkit`) and/or whole jobs. @defaultValue [] */
  scrapeTargets?: readonly ScrapeTarget[];
  /** Absolute paths of rule files; edit them and call `reload()` to re-read. @defaultValue [] */
  ruleFiles?: readonly string[];
  /** @defaultValue 1_000 ms */
  scrapeIntervalMs?: number;
  /** How often rules are evaluated. @defaultValue scrapeIntervalMs */
  evaluationIntervalMs?: number;
  /** Listen on this port instead of a free one. */
  port?: number;
  /** Extra command-line flags, e.g. `['--web.enable-remote-write-receiver']`. @defaultValue [] */
  extraArgs?: readonly string[];
  /** Bound on start-up (WAL replay after kill() included). @defaultValue 30_000 ms */
  readyTimeoutMs?: number;
  /**
   * A whole prometheus.yml instead of one generated from `scrapeTargets`/`ruleFiles`
   * (for running the repo's own config); called with the port it will listen on.
   */
  config?: (port: number) => string;
  /** Files written next to prometheus.yml before start, by relative path (e.g. `rules/alerts.yml`). */
  files?: Readonly<Record<string, string>>;
}

export interface PrometheusHandle extends ServiceHandle, PrometheusApi {
  /** The generated prometheus.yml (rewritten by `reload(changes)`). */
  readonly configFile: string;
  /**
   * Polls `query(promql)` until `predicate` holds for the result (default: not
   * empty). The timeout error shows the last result and the targets' health.
   */
  waitForQuery(
    promql: string,
    predicate?: (samples: PromSample[]) => boolean,
    options?: Pick<WaitOptions, 'timeoutMs' | 'intervalMs'>,
  ): Promise<PromSample[]>;
  /** Re-reads config and rule files (POST /-/reload), after rewriting the config with `changes`. */
  reload(changes?: Pick<PrometheusOptions, 'scrapeTargets' | 'ruleFiles' | 'config'>): Promise<void>;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts Prometheus (built from observability/stack/prometheus, the release
 * compose pins) on a free port with its config and TSDB in a temp dir,
 * exemplar storage on and the lifecycle API (reload) enabled.
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusHandle> {
  const binary = stackBinaryPath('prometheus');
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 1_000;
  const settings = {
    scrapeTargets: options.scrapeTargets ?? [],
    ruleFiles: options.ruleFiles ?? [],
    scrapeIntervalMs,
    evaluationIntervalMs: options.evaluationIntervalMs ?? scrapeIntervalMs,
  };
  let config = options.config;
  const render = (p: number) => (config ? config(p) : buildPrometheusConfig(settings));
  render(0); // bad options throw before anything starts
  const dir = makeTempDir('prometheus');
  const configFile = join(dir, 'prometheus.yml');
  for (const [file, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  let port = options.port ?? (await freePort());
  let proc: Spawned | undefined;
  const url = () => `http://127.0.0.1:${port}`;

  const launch = async () => {
    writeFileSync(configFile, render(port));
    proc = spawnTracked(binary, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
      ...(options.extraArgs ?? []),
    ]);
    const current = proc;
    await waitFor(
      async () => {
        if (current.child.exitCode !== null || current.child.signalCode !== null) {
          throw new Error(`prometheus exited: ${current.output()}`);
        }
        return isReady(url());
      },
      { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100, what: `prometheus on port ${port}` },
    );
  };

  try {
    // freePort() can race with another process taking the port: retry once on a new one.
    await launch().catch(async (error: Error) => {
      if (options.port || !/address already in use/.test(error.message)) throw error;
      port = await freePort();
      await launch();
    });
  } catch (error) {
    if (proc) await stopProcess(proc, 'SIGKILL');
    removeTempDir(dir);
    throw error;
  }

  const api = createPrometheusApi(url());

  const handle = ownedHandle({
    url,
    port: () => port,
    process: () => proc,
    launch,
    stopSignal: 'SIGTERM',
    graceMs: 10_000,
    cleanup: () => removeTempDir(dir),
  });
  // Object.assign, not a spread: the handle's url, port and pid are getters (a retry may move the port).
  return Object.assign(handle, {
    ...api,
    configFile,
    async waitForQuery(promql, predicate = (s) => s.length > 0, waitOptions = {}) {
      let last: PromSample[] | string = 'no answer yet';
      try {
        return await waitFor(
          async () => {
            const samples = await api.query(promql);
            last = samples;
            return predicate(samples) ? samples : undefined;
          },
          { intervalMs: 250, ...waitOptions, what: `PromQL ${promql}` },
        );
      } catch (error) {
        const targets = await api.targets().catch(() => []);
        const health = targets.map(
          (t) => `${t.job} ${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`,
        );
        throw new Error(
          `${(error as Error).message}\nLast result: ${JSON.stringify(last)}\nTargets: ${health.join('; ') || 'none'}`,
          { cause: error },
        );
      }
    },
    async reload(changes = {}) {
      if (changes.scrapeTargets) settings.scrapeTargets = changes.scrapeTargets;
      if (changes.ruleFiles) settings.ruleFiles = changes.ruleFiles;
      if (changes.config) config = changes.config;
      writeFileSync(configFile, render(port));
      const res = await fetch(`${url()}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`prometheus reload failed (HTTP ${res.status}): ${await res.text()}`);
    },
  } satisfies Omit<PrometheusHandle, keyof ServiceHandle>);
}
