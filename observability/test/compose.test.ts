import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findBinary, makeTempDir, removeTempDir } from '@media-cluster/testkit';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolate } from '../src/compose-env.js';
import {
  bytes,
  type ComposeService,
  dotEnv,
  parseYaml,
  rawCompose,
  readRepoFile,
  repoFileExists,
  repoPath,
  resolvedCompose,
} from './support.js';

const require = createRequire(import.meta.url);
const composeSchemaPath = join(
  dirname(require.resolve('dclint/package.json')),
  'schemas/compose.schema.json',
);

/** The compose-spec schema (draft-07). Its `$schema` URL lacks the `#` Ajv keys draft-07 by, so drop it. */
function composeValidator() {
  const { $schema: _draft07, ...schema } = JSON.parse(readFileSync(composeSchemaPath, 'utf8'));
  // Custom formats (duration, ...) are left to compose itself.
  const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true, validateFormats: false });
  return { ajv, validate: ajv.compile(schema) };
}

/** Services that run once and exit: no healthcheck, but still a memory limit. */
const isOneShot = (s: ComposeService) => s.restart === 'no';
const memoryLimit = (s: ComposeService) => s.deploy?.resources?.limits?.memory ?? s.mem_limit;
const buildOf = (s: ComposeService) =>
  typeof s.build === 'string' ? { context: s.build, dockerfile: 'Dockerfile', args: {} } : s.build;

const tmp = makeTempDir('compose');
/** The README section about `docker compose up --build`. */
const readmeStackSection = () => {
  const readme = readRepoFile('README.md');
  const start = readme.indexOf('## Observability stack');
  expect(start, 'README.md has no "## Observability stack" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};
afterAll(() => removeTempDir(tmp));

describe('docker-compose.yml', () => {
  const services = resolvedCompose().services;
  const names = Object.keys(services);

  it('has the services of the design', () => {
    expect(names.sort()).toEqual(
      [
        'api',
        'demo',
        'grafana',
        'jaeger',
        'otel-collector',
        'postgres',
        'prometheus',
        'redis',
        'worker',
      ].sort(),
    );
    expect(readRepoFile('docker-compose.yml')).not.toMatch(/^version:/m);
  });

  it('validates against the current compose-spec JSON schema (shipped in dclint)', () => {
    const { ajv, validate } = composeValidator();
    for (const [label, doc] of [
      ['as written', rawCompose()],
      ['after .env interpolation', resolvedCompose()],
    ] as const) {
      const ok = validate(doc);
      expect(ok, `${label}: ${ajv.errorsText(validate.errors, { separator: '\n' })}`).toBe(true);
    }
  });

  it('schema validation catches a broken file (the check can fail)', () => {
    const { validate } = composeValidator();
    const broken = resolvedCompose();
    // The mistake this file once had: an unquoted "a ? b : c" in a healthcheck turned into a map.
    (broken.services.api as { healthcheck: unknown }).healthcheck = { test: ['CMD', { 'r.ok ? 0': '1' }] };
    expect(validate(broken)).toBe(false);
  });

  it('passes dclint (schema + rules) after interpolation; ordering rules off: the file reads in start-up order', () => {
    const file = join(tmp, 'docker-compose.yml');
    writeFileSync(file, interpolate(readRepoFile('docker-compose.yml'), dotEnv()).text);
    const linter = new DCLinter({
      rules: {
        'service-keys-order': 0,
        'services-alphabetical-order': 0,
        'top-level-properties-order': 0,
        // The file quotes with double quotes throughout.
        'require-quotes-in-ports': [2, { quoteType: 'double' }],
      },
      quiet: false,
      debug: false,
      exclude: [],
    });
    const [result] = linter.lintFiles([file], false);
    const problems = (result?.messages ?? []).map(
      (m: { line: number; column: number; rule: string; message: string }) =>
        `${m.line}:${m.column} ${m.rule} ${m.message}`,
    );
    expect(problems).toEqual([]);
    expect(result?.errorCount ?? 0).toBe(0);
  });

  it('is accepted by docker-compose config -q (Debian v1: its schema predates the top-level `name`)', () => {
    const bin = findBinary('docker-compose');
    // v1 (1.29) rejects the top-level `name:` key of the current spec; everything else it validates.
    const withoutName = readRepoFile('docker-compose.yml').replace(/^name: .*$/m, '');
    // --project-directory: relative paths and .env resolve against the repo, as with the real file.
    const file = join(tmp, 'docker-compose.v1.yml');
    writeFileSync(file, withoutName);
    const run = (args: string[]) =>
      spawnSync(bin, ['-f', file, '--project-directory', repoPath(), ...args], {
        encoding: 'utf8',
        env: { ...process.env, COMPOSE_PROJECT_NAME: 'media-cluster' },
      });
    const quiet = run(['config', '-q']);
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/variable is not set/i);
    // And v1's own resolution (merge keys, .env interpolation) agrees with ours.
    const full = run(['config']);
    expect(full.status, full.stderr).toBe(0);
    const v1 = parseYaml<{ services: Record<string, ComposeService> }>(full.stdout);
    expect(Object.keys(v1.services).sort()).toEqual(names.sort());
    expect(v1.services.api?.init).toBe(true);
    expect(v1.services.worker?.environment?.OTEL_SERVICE_NAME).toBe('media-cluster-worker');
    expect(String(v1.services.worker?.environment?.WORKER_METRICS_PORT)).toBe(dotEnv().WORKER_METRICS_PORT);
  });

  it('sets every variable it references without a default in .env', () => {
    const { missing, referenced } = interpolate(readRepoFile('docker-compose.yml'), dotEnv());
    expect(referenced.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it.each(names)('%s has a memory limit', (name) => {
    const limit = memoryLimit(services[name]!);
    expect(limit, `${name} has no deploy.resources.limits.memory / mem_limit`).toBeTruthy();
    expect(bytes(String(limit))).toBeGreaterThanOrEqual(64 * 1024 ** 2);
  });

  it.each(names.filter((n) => !isOneShot(services[n]!)))(
    '%s (long-running) has a healthcheck and waits for healthy dependencies',
    (name) => {
      const s = services[name]!;
      expect(s.healthcheck?.test, `${name} has no healthcheck`).toBeTruthy();
      expect(s.healthcheck?.disable).not.toBe(true);
      expect(s.restart).toBe('unless-stopped');
      const deps = s.depends_on ?? {};
      expect(Array.isArray(deps), `${name}: depends_on must be the long form with conditions`).toBe(false);
      for (const [dep, { condition }] of Object.entries(deps as Record<string, { condition: string }>)) {
        expect(condition, `${name} -> ${dep}`).toBe('service_healthy');
        expect(isOneShot(services[dep]!), `${name} waits for one-shot ${dep}`).toBe(false);
      }
    },
  );

  it('the demo loader runs once, after api and worker are healthy, and runs scripts/demo-load.mjs', () => {
    const demo = services.demo!;
    expect(demo.restart).toBe('no');
    expect(demo.depends_on).toEqual({
      api: { condition: 'service_healthy' },
      worker: { condition: 'service_healthy' },
    });
    expect(demo.command).toEqual(['node', 'scripts/demo-load.mjs']);
    expect(existsSync(repoPath('scripts/demo-load.mjs'))).toBe(true);
  });

  it('workers scale: no container_name, no host port', () => {
    const worker = services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    for (const [name, s] of Object.entries(services)) {
      expect(s.container_name, `${name} has a fixed container_name`).toBeUndefined();
    }
  });

  it('host ports are bound to the loopback address by default', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const port of s.ports ?? []) {
        expect(String(port), name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      }
    }
  });

  it('pins every image by version (no latest, no bare name), directly or in its Dockerfile', () => {
    const env = dotEnv();
    const images: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      if (s.image) images.push(s.image);
      const build = buildOf(s);
      if (!build) continue;
      const dockerfile = readFileSync(repoPath(build.context, build.dockerfile ?? 'Dockerfile'), 'utf8');
      // FROM lines with ARG defaults overridden by compose build args.
      const args: Record<string, string> = {};
      for (const m of dockerfile.matchAll(/^ARG (\w+)(?:=(\S+))?$/gm)) if (m[2]) args[m[1]!] = m[2];
      Object.assign(args, build.args ?? {});
      const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
      expect(froms.length, `${name}: no FROM`).toBeGreaterThan(0);
      for (const from of froms) {
        const resolved = interpolate(from, args);
        expect(resolved.missing, `${name}: FROM ${from}`).toEqual([]);
        if (/^[a-z]+$/.test(resolved.text)) continue; // a stage name
        images.push(resolved.text);
      }
    }
    expect(images.length).toBeGreaterThanOrEqual(8);
    for (const image of images) {
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      expect(tag, `${image} has no tag`).toBeTruthy();
      expect(tag, image).not.toMatch(/latest/);
      expect(tag, `${image}: pin a version, not a moving major`).toMatch(/\d+\.\d+/);
    }
    // Every version lives in .env once.
    for (const key of Object.keys(env).filter((k) => k.endsWith('_VERSION'))) {
      expect(readRepoFile('docker-compose.yml'), `${key} unused`).toContain(`\${${key}}`);
    }
  });

  it('every build context, Dockerfile and bind-mounted file exists', () => {
    for (const [name, s] of Object.entries(services)) {
      const build = buildOf(s);
      if (build) {
        expect(existsSync(repoPath(build.context)), `${name}: context ${build.context}`).toBe(true);
        expect(
          existsSync(repoPath(build.context, build.dockerfile ?? 'Dockerfile')),
          `${name}: ${build.dockerfile}`,
        ).toBe(true);
      }
      for (const volume of s.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (!source.startsWith('.') && !source.startsWith('/')) continue; // a named volume
        expect(existsSync(repoPath(source)), `${name} mounts ${source}, which does not exist`).toBe(true);
      }
    }
  });

  it('named volumes are declared', () => {
    const declared = Object.keys(resolvedCompose().volumes ?? {});
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (source.startsWith('.') || source.startsWith('/')) continue;
        expect(declared, `${name} uses undeclared volume ${source}`).toContain(source);
      }
    }
  });

  it('prometheus stores exemplars and loads the repo config and rules; grafana is provisioned, anonymous viewer', () => {
    const prometheus = services.prometheus!;
    const args = prometheus.command as string[];
    expect(args).toContain('--enable-feature=exemplar-storage');
    expect(args).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(prometheus.volumes).toContain('./observability/prometheus:/etc/prometheus:ro');
    // rule_files in prometheus.yml is relative to the config, i.e. the mounted rules/ folder.
    expect(readRepoFile('observability/prometheus/prometheus.yml')).toMatch(
      /^rule_files:\n {2}- rules\/\*\.yml/m,
    );
    const grafana = services.grafana!.environment!;
    expect(grafana.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(grafana.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    const jaeger = services.jaeger!;
    expect(jaeger.command).toEqual(['--config', '/etc/jaeger/config.yaml']);
    expect(jaeger.volumes).toContain('./observability/jaeger/config.yaml:/etc/jaeger/config.yaml:ro');
  });

  it('prometheus runs without the lifecycle API and the remote-write receiver (nothing uses them)', () => {
    const args = services.prometheus!.command as string[];
    expect(args.filter((a) => /lifecycle|remote-write|admin-api/.test(a))).toEqual([]);
    for (const name of names) {
      const command =
        JSON.stringify(services[name]!.command ?? '') + JSON.stringify(services[name]!.entrypoint ?? '');
      expect(command, name).not.toMatch(/\/-\/(reload|quit)|api\/v1\/write/);
    }
  });

  it("the services' /metrics want METRICS_TOKEN off loopback, and Prometheus scrapes them with that token", () => {
    const token = dotEnv().METRICS_TOKEN;
    expect(token?.length ?? 0).toBeGreaterThanOrEqual(16);
    for (const name of ['api', 'worker']) {
      expect(services[name]!.environment?.METRICS_TOKEN, name).toBe(token);
    }
    const prom = parseYaml<{
      scrape_configs: { job_name: string; authorization?: { type?: string; credentials?: string } }[];
    }>(readRepoFile('observability/prometheus/prometheus.yml'));
    for (const job of ['media-cluster-api', 'media-cluster-worker']) {
      const auth = prom.scrape_configs.find((j) => j.job_name === job)?.authorization;
      expect(auth?.type ?? 'Bearer', job).toBe('Bearer');
      expect(auth?.credentials, `${job}: credentials must equal .env METRICS_TOKEN`).toBe(token);
    }
  });

  it("the npm start example cannot be mistaken for compose's .env", () => {
    // Copying a ".env.example" over .env would drop the image pins and the bind address.
    expect(repoFileExists('.env.example')).toBe(false);
    const example = readRepoFile('npm-start.env.example');
    expect(example).toMatch(/Do not copy this file over `\.env`/);
    // Every line is a comment: nothing in it overrides a default by accident.
    expect(example.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual([]);
    expect(readRepoFile('.gitignore').split('\n')).toContain('npm-start.env');
  });

  it('redis keeps an append-only file', () => {
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
  });

  it('api and worker run under an init, with a stop grace above the drain time', () => {
    for (const name of ['api', 'worker']) {
      const s = services[name]!;
      expect(s.init, name).toBe(true);
      const grace = Number(/^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1]);
      expect(grace * 1000).toBeGreaterThan(Number(services.worker!.environment?.SHUTDOWN_GRACE_MS));
    }
  });

  it('the memory limits add up to the figure docs/runbook.md gives', () => {
    const total = Object.values(services).reduce((sum, s) => sum + bytes(String(memoryLimit(s))), 0);
    const mib = Math.round(total / 1024 ** 2);
    expect(readRepoFile('docs/runbook.md')).toContain(`${mib} MiB`);
    expect(readmeStackSection()).toContain(`**${mib} MiB**`);
  });

  it("README's Observability stack section names the pinned versions and host ports of .env", () => {
    const env = dotEnv();
    const section = readmeStackSection();
    for (const key of ['NODE_VERSION', 'REDIS_VERSION', 'POSTGRES_VERSION', 'OTEL_COLLECTOR_VERSION']) {
      expect(section, key).toContain(`${env[key]}`);
    }
    for (const key of ['JAEGER_VERSION', 'PROMETHEUS_VERSION', 'GRAFANA_VERSION']) {
      expect(section, key).toContain(`:${env[key]}\``);
    }
    for (const key of ['API_PORT', 'GRAFANA_PORT', 'JAEGER_UI_PORT', 'PROMETHEUS_PORT']) {
      expect(section, key).toContain(`http://localhost:${env[key]}`);
    }
    for (const key of ['OTEL_COLLECTOR_GRPC_PORT', 'OTEL_COLLECTOR_HTTP_PORT']) {
      expect(section, key).toContain(`localhost:${env[key]}`);
    }
    for (const name of names) expect(section, name).toContain(`| \`${name}\``);
  });
});
