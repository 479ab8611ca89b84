// The one Dockerfile (repo root) that builds both the api and the worker image.
// No Docker engine here, so: its text is checked for what the image must be
// (multi-stage, lean prod folder, non-root, telemetry loaded with --import, exec-form
// CMD so SIGTERM reaches node), and its two load-bearing steps are run for real
// outside Docker: the `pnpm deploy --prod` line, then the CMD from the deployed
// folder against real Redis and Postgres, until /ready, telemetry arriving over
// OTLP, and a clean exit on SIGTERM. Needs the build (`npm test` builds first).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestSchema,
  freePort,
  makeTempDir,
  type OtlpReceiver,
  removeTempDir,
  type Spawned,
  spawnTracked,
  startOtlpReceiver,
  stopProcess,
  type TestSchema,
  uniqueName,
  waitFor,
} from '@media-cluster/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ComposeService, parseYaml, readRepoFile, repoPath, resolvedCompose } from './support.js';

const SERVICES = ['api', 'worker'] as const;
type Service = (typeof SERVICES)[number];

const dockerfile = readRepoFile('Dockerfile');
/** Instructions with `\` continuations joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim().replace(/\s+/g, ' '))
  .filter((l) => l && !l.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM /i.test(line)) stages.push([]);
  stages.at(-1)?.push(line);
}
const runtime = stages.at(-1) ?? [];
const cmdLine = runtime.find((l) => /^CMD /.test(l)) ?? '';
/** The runtime stage's `ENV K=V ...` settings. */
const imageEnv: Record<string, string> = Object.fromEntries(
  runtime
    .filter((l) => /^ENV /.test(l))
    .flatMap((l) => l.slice(4).split(' '))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
/** The deploy step exactly as the Dockerfile runs it, for one service. */
const deployArgs = (service: Service, out: string): string[] => {
  const line = instructions.find((l) => / deploy /.test(l) && l.includes('pnpm --filter')) ?? '';
  const command = line.slice(line.indexOf('pnpm --filter'));
  return command
    .replace(/\$\{SERVICE\}/g, service)
    .replace(/--store-dir \S+ /, '') // the image's cache mount; here the machine's own store
    .replace(/ \/out$/, ` ${out}`)
    .split(/\s+/)
    .slice(1);
};

const build = (s: ComposeService | undefined) =>
  typeof s?.build === 'object' ? s.build : { context: String(s?.build), args: {} as Record<string, string> };

describe('Dockerfile (api and worker images)', () => {
  it('is the one Dockerfile compose builds both services from, picked by SERVICE', () => {
    const services = resolvedCompose().services;
    for (const name of SERVICES) {
      const b = build(services[name]);
      expect(b.context, name).toBe('.');
      expect(b.dockerfile, name).toBe('Dockerfile');
      expect(b.args?.SERVICE, name).toBe(name);
      expect(existsSync(repoPath('services', name, 'package.json'))).toBe(true);
    }
    // No per-service copies left to drift apart.
    for (const name of SERVICES)
      expect(existsSync(repoPath('services', name, 'Dockerfile')), name).toBe(false);
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    // An image built without SERVICE stops with a message instead of a half-empty image.
    expect(dockerfile).toMatch(/test -n "\$\{SERVICE\}"/);
  });

  it('is multi-stage: the runtime stage holds only the deployed folder, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.some((l) => / deploy --prod /.test(l))).toBe(true);
    const copies = runtime.filter((l) => /^COPY /.test(l));
    expect(copies).toEqual([expect.stringMatching(/^COPY --from=build --chown=node:node \/out \.\/$/)]);
    const users = runtime.filter((l) => /^USER /.test(l));
    expect(users).toEqual(['USER node']);
    // Nothing after USER runs as root again, and CMD comes after it.
    expect(runtime.indexOf(cmdLine)).toBeGreaterThan(runtime.indexOf('USER node'));
    expect(runtime.some((l) => /^ENTRYPOINT /.test(l))).toBe(false);
    expect(imageEnv).toEqual({ NODE_ENV: 'production', HOST: '0.0.0.0', PHOTO_DIR: '/data/photos' });
  });

  it('CMD is the exec form (node is the process that gets SIGTERM) and loads the telemetry first', () => {
    const cmd = JSON.parse(cmdLine.replace(/^CMD /, '')) as string[];
    expect(cmd).toEqual(['node', '--import', '@media-cluster/telemetry/register', 'dist/index.js']);
    // compose runs it under an init (tini) that forwards the signal: see compose.test.ts.
    const telemetry = JSON.parse(readRepoFile('packages/telemetry/package.json')) as {
      exports: Record<string, unknown>;
    };
    expect(telemetry.exports).toHaveProperty('./register');
    for (const name of SERVICES) {
      const pkg = JSON.parse(readRepoFile('services', name, 'package.json')) as {
        dependencies: Record<string, string>;
      };
      // A production dependency, or `pnpm deploy --prod` would leave it out of the image.
      expect(pkg.dependencies['@media-cluster/telemetry'], name).toBe('workspace:*');
    }
  });

  it('.dockerignore keeps local builds, deps and secrets out of the build context', () => {
    const ignored = readRepoFile('.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env', '.env.local', '.data']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});

/** Runs a command to completion without blocking the event loop (the deploys run side by side). */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return new Promise<{ status: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    child.on('close', (status) => resolve({ status, output }));
  });
}

const composeEnv = (s: ComposeService | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));

describe('the api and worker images, built and run without Docker', () => {
  let root: string;
  const out = (service: Service) => join(root, service);
  let photos: string;
  let schema: TestSchema;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    for (const entry of [
      ...SERVICES.map((s) => `services/${s}/dist/index.js`),
      'packages/telemetry/dist/register.js',
    ]) {
      if (!existsSync(repoPath(entry))) {
        throw new Error(
          `${entry} is missing: run pnpm turbo run build --filter=@media-cluster/api... --filter=@media-cluster/worker...`,
        );
      }
    }
    root = makeTempDir('images');
    photos = makeTempDir('images-photos');
    schema = await createTestSchema(inject('databaseUrl'));
    otlp = await startOtlpReceiver();
  }, 60_000);

  afterAll(async () => {
    await otlp?.stop();
    await schema?.drop();
    if (root) removeTempDir(root);
    if (photos) removeTempDir(photos);
  });

  /** name@version of every package the workspace lockfile holds. */
  const locked = new Set(
    Object.keys(parseYaml<{ packages: Record<string, unknown> }>(readRepoFile('pnpm-lock.yaml')).packages),
  );

  it('pnpm deploy --prod (the Dockerfile step) gives each service its dist and production dependencies only', async () => {
    const results = await Promise.all(
      SERVICES.map(async (service) => {
        // Offline from the machine's pnpm store, exact versions from the lockfile, as in the image.
        const args = deployArgs(service, out(service));
        expect(args).toEqual(
          expect.arrayContaining([
            `@media-cluster/${service}`,
            'deploy',
            '--prod',
            '--offline',
            out(service),
          ]),
        );
        return {
          service,
          args,
          ...(await run('pnpm', args, { cwd: repoPath(), env: { ...process.env, CI: 'true' } })),
        };
      }),
    );
    for (const { service, args, status, output } of results) {
      expect(status, `pnpm ${args.join(' ')}\n${output}`).toBe(0);
      const dir = out(service);
      expect(existsSync(join(dir, 'dist/index.js')), service).toBe(true);
      expect(existsSync(join(dir, 'src')), `TypeScript sources in the ${service} image`).toBe(false);
      const telemetry = join(dir, 'node_modules/@media-cluster/telemetry');
      expect(existsSync(join(telemetry, 'dist/register.js')), service).toBe(true);
      expect(existsSync(join(telemetry, 'src')), `workspace package sources in the ${service} image`).toBe(
        false,
      );
      // Dev tooling stays out of the virtual store.
      const store = readdirSync(join(dir, 'node_modules/.pnpm'));
      for (const dev of ['typescript@', 'vitest@', '@biomejs+', 'turbo@', '@media-cluster+testkit']) {
        expect(
          store.filter((d) => d.startsWith(dev)),
          `${dev} in the ${service} image`,
        ).toEqual([]);
      }
      // Every package is the version the workspace lockfile pins (what the tests ran).
      const notLocked = store
        .filter((d) => d !== 'node_modules' && !d.startsWith('lock.'))
        .map((d) => d.replace(/_.*$/, '').replace(/^@([^+]+)\+/, '@$1/'))
        .filter((id) => !id.startsWith('@media-cluster/') && !locked.has(id)); // workspace packages are injected copies
      expect(notLocked, `${service}: versions not in pnpm-lock.yaml`).toEqual([]);
    }
  }, 120_000);

  it('CMD from those folders with compose’s environment: the demo loader, run as compose runs it, gets every job to succeed; SIGTERM exits 0', async () => {
    for (const service of SERVICES)
      expect(existsSync(join(out(service), 'dist/index.js')), 'the deploy step failed').toBe(true);
    const services = resolvedCompose().services;
    const [apiPort, apiMetricsPort, workerMetricsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    // Compose's service-to-service addresses, as this machine has them.
    const local: Record<string, string> = {
      ...otlp.exporterEnv(),
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: schema.url,
      QUEUE_PREFIX: uniqueName('images'),
      PHOTO_DIR: photos,
      LOG_LEVEL: 'warn',
    };
    // The image's ENV, then compose's environment for the service, then the local addresses.
    const envOf = (service: Service, own: Record<string, string>): Record<string, string> => ({
      PATH: process.env.PATH ?? '',
      ...imageEnv,
      ...composeEnv(services[service]),
      ...local,
      PUBLIC_API_URL: apiUrl,
      ...own,
    });
    const env = {
      api: envOf('api', { PORT: String(apiPort), METRICS_PORT: String(apiMetricsPort) }),
      worker: envOf('worker', { WORKER_METRICS_PORT: String(workerMetricsPort) }),
    };
    const ready = { api: `${apiUrl}/ready`, worker: `http://127.0.0.1:${workerMetricsPort}/ready` };
    const [node, ...cmdArgs] = JSON.parse(cmdLine.replace(/^CMD /, '')) as string[];
    expect(node).toBe('node');
    const procs: Partial<Record<Service, Spawned>> = {};
    try {
      // Compose's order: the api (it migrates), then the worker once the api is healthy.
      for (const service of SERVICES) {
        const proc = spawnTracked(process.execPath, cmdArgs, { cwd: out(service), env: env[service] });
        procs[service] = proc;
        await waitFor(
          async () => {
            if (proc.child.exitCode !== null) throw new Error(`${service} exited: ${proc.output()}`);
            return (await fetch(ready[service]).catch(() => undefined))?.status === 200;
          },
          { timeoutMs: 60_000, what: `${service} from its deployed folder to be ready` },
        );
      }
      // The one-shot demo service: its command and environment, pointed at the local api.
      const demo = services.demo!;
      const [demoNode, ...demoArgs] = demo.command as string[];
      expect(demoNode).toBe('node');
      const loaded = await run(process.execPath, demoArgs, {
        cwd: repoPath(),
        env: {
          PATH: process.env.PATH ?? '',
          ...composeEnv(demo),
          API_URL: apiUrl,
          DEMO_PHOTOS_DIR: repoPath('services/api/demo-photos'),
        },
      });
      expect(
        loaded.status,
        `${loaded.output}\napi: ${procs.api?.output()}\nworker: ${procs.worker?.output()}`,
      ).toBe(0);
      expect(loaded.output).toMatch(/succeeded/);
      // Telemetry was loaded by --import from each image's node_modules, named as compose names it.
      for (const service of SERVICES) {
        await waitFor(
          () => otlp.spans.some((s) => s.resource['service.name'] === env[service].OTEL_SERVICE_NAME),
          {
            timeoutMs: 20_000,
            what: `spans from ${env[service].OTEL_SERVICE_NAME}`,
          },
        );
      }
    } finally {
      // Reverse start order, as compose stops them; node itself gets the signal and drains.
      for (const service of [...SERVICES].reverse()) {
        const proc = procs[service];
        if (!proc) continue;
        const exit = await stopProcess(proc, 'SIGTERM', 25_000);
        expect(exit, `${service}: ${proc.output()}`).toEqual({ code: 0, signal: null });
      }
    }
  }, 180_000);
});
