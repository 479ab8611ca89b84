#!/usr/bin/env node
// `npm start` after set-up: runs api + worker against REDIS_URL / DATABASE_URL,
// or against private redis-server and PostgreSQL instances kept in DATA_DIR
// (.data/ by default; reused across runs, stopped on exit); loads the demo
// unless DEMO=0. It supervises what it started: a child that dies is started
// again with backoff while the others keep serving (scripts/start/supervisor.mjs).
// Ctrl-C (or SIGTERM) stops everything.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startRedis } from '../packages/testkit/dist/index.js';
import { runDemo } from './demo-load.mjs';
import { createSupervisor } from './start/supervisor.mjs';
import { traceViewerLines } from './start/trace-viewer.mjs';
import { embeddedServerUnit, serviceUnit } from './start/units.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = process.env.DATA_DIR ?? join(ROOT, '.data');
const env = { ...process.env };
const say = (line) => process.stderr.write(`[start] ${line}\n`);

env.PORT ??= '8080';
env.METRICS_PORT ??= '9464';
env.WORKER_METRICS_PORT ??= '9465';
// It runs with a well-known dev key: local only unless HOST says otherwise.
env.HOST ??= '127.0.0.1';
env.PHOTO_DIR ??= join(DATA, 'photos');
env.CALLBACK_ALLOWED_HOSTS ??= 'localhost,127.0.0.1,::1';
env.PUBLIC_API_URL ??= `http://localhost:${env.PORT}`;
const devKey = !env.API_KEYS;
env.API_KEYS ??= 'local-dev-key:demo-owner';
const apiKey = env.API_KEYS.split(',')[0].split(':')[0];

/** Where start.mjs itself reaches the services: the bound address, or loopback for a wildcard. */
const localHost = ['0.0.0.0', '::', ''].includes(env.HOST) ? '127.0.0.1' : env.HOST;
const hostInUrl = localHost.includes(':') ? `[${localHost}]` : localHost;
const urlOf = (port, path = '') => `http://${hostInUrl}:${port}${path}`;

/** An optional fixed port for an embedded server (else a free one each run). */
function portFrom(name) {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    say(`${name} must be a port number (1-65535), got "${raw}"`);
    process.exit(1);
  }
  return port;
}

const supervisor = createSupervisor({ say });
let stopping;
function shutdown(code) {
  stopping ??= (async () => {
    say('stopping…');
    await supervisor.stop();
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function fatal(message, hint) {
  say(message);
  if (hint) say(hint);
  await shutdown(1);
}

// 1. Embedded servers (unless the URLs are given), each restarted on the same port and data if it dies.
try {
  if (!env.REDIS_URL) {
    const dataDir = join(DATA, 'redis');
    await supervisor.add(
      embeddedServerUnit({
        name: 'redis-server',
        create: () => startRedis({ dataDir, appendOnly: true, port: portFrom('EMBEDDED_REDIS_PORT') }),
        onCreated: (redis) => {
          env.REDIS_URL = redis.url;
          say(`redis-server (embedded, data in ${dataDir}) at ${redis.url}`);
        },
      }),
    );
  }
  if (!env.DATABASE_URL) {
    const dataDir = join(DATA, 'postgres');
    await supervisor.add(
      embeddedServerUnit({
        name: 'postgres',
        create: () => startPostgres({ dataDir, port: portFrom('EMBEDDED_POSTGRES_PORT') }),
        onCreated: (postgres) => {
          env.DATABASE_URL = postgres.url;
          say(`postgres (embedded, data in ${dataDir}) at ${postgres.url}`);
        },
      }),
    );
  }
} catch (error) {
  await fatal(
    `could not start the embedded servers: ${error.message}`,
    'Set REDIS_URL and DATABASE_URL to servers you run, or install redis-server and postgresql.',
  );
}

// 2. The api and the worker, each restarted with backoff if it dies.
const register = createRequire(join(ROOT, 'services/api/package.json')).resolve(
  '@media-cluster/telemetry/register',
);
const service = (name, readyUrl) =>
  serviceUnit({
    name,
    entry: join(ROOT, `services/${name}/dist/index.js`),
    register,
    env: { ...env, OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME ?? `media-cluster-${name}` },
    readyUrl,
  });
try {
  let timer;
  await Promise.race([
    Promise.all([
      supervisor.add(service('api', urlOf(env.PORT, '/ready'))),
      supervisor.add(service('worker', urlOf(env.WORKER_METRICS_PORT, '/ready'))),
    ]),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the api and the worker were not ready within 60 s')),
        60_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
} catch (error) {
  await fatal(error.message);
}
const pids = supervisor.pids();
say(
  `running: ${Object.entries(pids)
    .map(([name, pid]) => `${name} (pid ${pid})`)
    .join(', ')}`,
);

// 3. The demo, on an empty database.
const apiUrl = urlOf(env.PORT);
let sample;
if (env.DEMO !== '0' && env.DEMO !== 'false') {
  try {
    const jobs = await runDemo({ apiUrl, apiKey, log: (line) => say(`demo: ${line}`) });
    sample = jobs.find((j) => j.status === 'succeeded');
  } catch (error) {
    say(`demo failed: ${error.message}`);
  }
}

await printWhereToLook({ apiUrl, apiKey, devKey, sample });

/** The block `npm start` ends its start-up with: every URL a person opens next. */
async function printWhereToLook({ apiUrl, apiKey, devKey, sample }) {
  const lines = [
    '',
    `API        ${apiUrl}   (key: ${apiKey}${devKey ? ', a local default: set API_KEYS for anything real' : ''})`,
    `metrics    ${urlOf(env.METRICS_PORT, '/metrics')} (api), ${urlOf(env.WORKER_METRICS_PORT, '/metrics')} (worker)`,
    ...(await traceViewerLines({
      otlpEndpoint:
        env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4317',
      jaegerUrl: env.JAEGER_URL ?? 'http://localhost:16686',
      traceId: sample?.traceId,
    })),
  ];
  if (sample) {
    lines.push(`sample job ${sample.jobId} on pet ${sample.petId}, trace id ${sample.traceId}`);
    lines.push(
      `try        curl -s -H 'authorization: Bearer ${apiKey}' ${apiUrl}/v1/pets/${sample.petId}/clusters`,
    );
  } else {
    lines.push(`try        curl -s -H 'authorization: Bearer ${apiKey}' ${apiUrl}/health`);
  }
  lines.push('A child that dies is restarted; Ctrl-C stops everything.', '');
  process.stderr.write(lines.join('\n'));
}
