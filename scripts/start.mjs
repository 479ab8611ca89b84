#!/usr/bin/env node
// `npm start` after set-up: runs api + worker against REDIS_URL / DATABASE_URL,
// or against private redis-server and PostgreSQL instances kept in .data/
// (reused across runs, stopped on exit); loads the demo unless DEMO=0.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startRedis, waitFor } from '../packages/testkit/dist/index.js';
import { runDemo } from './demo-load.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = process.env.DATA_DIR ?? join(ROOT, '.data');
const env = { ...process.env };
const say = (line) => process.stderr.write(`[start] ${line}\n`);

env.PORT ??= '8080';
env.METRICS_PORT ??= '9464';
env.WORKER_METRICS_PORT ??= '9465';
env.PHOTO_DIR ??= join(DATA, 'photos');
env.CALLBACK_ALLOWED_HOSTS ??= 'localhost,127.0.0.1';
env.PUBLIC_API_URL ??= `http://localhost:${env.PORT}`;
const devKey = !env.API_KEYS;
env.API_KEYS ??= 'local-dev-key:demo-owner';
const apiKey = env.API_KEYS.split(',')[0].split(':')[0];

const servers = [];
const children = [];
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
        }),
    ),
  );
  for (const server of servers.reverse()) await server.stop().catch(() => {});
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

try {
  if (!env.REDIS_URL) {
    const redis = await startRedis({ dataDir: join(DATA, 'redis'), appendOnly: true });
    servers.push(redis);
    env.REDIS_URL = redis.url;
    say(`redis-server (embedded, data in ${join(DATA, 'redis')}) at ${redis.url}`);
  }
  if (!env.DATABASE_URL) {
    const postgres = await startPostgres({ dataDir: join(DATA, 'postgres') });
    servers.push(postgres);
    env.DATABASE_URL = postgres.url;
    say(`postgres (embedded, data in ${join(DATA, 'postgres')}) at ${postgres.url}`);
  }
} catch (error) {
  say(`could not start the embedded servers: ${error.message}`);
  say('Set REDIS_URL and DATABASE_URL to servers you run, or install redis-server and postgresql.');
  await shutdown(1);
}

const register = createRequire(join(ROOT, 'services/api/package.json')).resolve(
  '@media-cluster/telemetry/register',
);
function launch(name, entry, extraEnv) {
  const child = spawn(process.execPath, ['--import', register, join(ROOT, entry)], {
    env: { ...env, OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME ?? `media-cluster-${name}`, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${code ?? signal}); stopping everything`);
      shutdown(1);
    }
  });
  children.push(child);
  return child;
}

launch('api', 'services/api/dist/index.js', {});
launch('worker', 'services/worker/dist/index.js', {});

async function isReady(port) {
  const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
  return res?.status === 200;
}
try {
  await waitFor(() => isReady(env.PORT), { timeoutMs: 60_000, intervalMs: 200, what: 'the api to be ready' });
  await waitFor(() => isReady(env.WORKER_METRICS_PORT), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: 'the worker to be ready',
  });
} catch (error) {
  say(error.message);
  await shutdown(1);
}

const apiUrl = `http://localhost:${env.PORT}`;
let sample;
if (env.DEMO !== '0' && env.DEMO !== 'false') {
  try {
    const jobs = await runDemo({ apiUrl, apiKey, log: (line) => say(`demo: ${line}`) });
    sample = jobs.find((j) => j.status === 'succeeded');
  } catch (error) {
    say(`demo failed: ${error.message}`);
  }
}

const lines = [
  '',
  `API        ${apiUrl}   (key: ${apiKey}${devKey ? ', a local default: set API_KEYS for anything real' : ''})`,
  `metrics    http://localhost:${env.METRICS_PORT}/metrics (api), http://localhost:${env.WORKER_METRICS_PORT}/metrics (worker)`,
  `traces     OTLP to ${env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4317'} (docker compose up brings Jaeger at http://localhost:16686)`,
];
if (sample) {
  lines.push(`sample job ${sample.jobId} on pet ${sample.petId}, trace id ${sample.traceId}`);
  lines.push(
    `try        curl -s -H 'authorization: Bearer ${apiKey}' ${apiUrl}/v1/pets/${sample.petId}/clusters`,
  );
} else {
  lines.push(`try        curl -s -H 'authorization: Bearer ${apiKey}' ${apiUrl}/health`);
}
lines.push('Ctrl-C stops everything.', '');
process.stderr.write(lines.join('\n'));
