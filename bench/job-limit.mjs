#!/usr/bin/env node
// `pnpm bench job-limit [--photos 500] [--small 10] [--width 4000] [--height 3000] [--scenes 10]
//                        [--worker-concurrency 2] [--limit-mib 1536] [--skip-build] [--out job-limit]`
//
// The worker's peak memory on jobs at the photo limit (MAX_JOB_PHOTOS, default 500), against the
// worker's memory limit in docker compose (1536 MiB). Real api and worker processes (services/*/dist
// with `node --import @media-cluster/telemetry/register`, full telemetry to the OTLP sink process,
// default config otherwise: WORKER_CONCURRENCY 2, EMBED_CONCURRENCY 4, default embedder) on a
// private redis-server and PostgreSQL from testkit.
// Set-up (untimed): `scenes` distinct photo-sized JPEGs (width x height, smooth gradients plus
// noise, encoded by sharp) made distinct per photo by a JPEG comment segment (same pixels,
// different bytes and sha256), uploaded for pets of `photos` photos each (and one of `small`).
// Rows, each on a fresh worker so its peak RSS (VmHWM from /proc) is that row's alone:
//   small:    one job of `small` photos
//   limit:    one job of `photos` photos
//   limit xN: `worker-concurrency` jobs of `photos` photos at once (the worst a worker takes in)
// RSS is the whole worker process: the main thread and the embedder's worker threads.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServices, startOtlpSink, startService } from './lib/services.mjs';
import { loadText, machine, markdownTable, repoRoot, round, writeResults } from './lib/stats.mjs';

const { values: opts } = parseArgs({
  options: {
    photos: { type: 'string', default: '500' },
    small: { type: 'string', default: '10' },
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
    scenes: { type: 'string', default: '10' },
    'worker-concurrency': { type: 'string', default: '2' },
    'limit-mib': { type: 'string', default: '1536' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string', default: 'job-limit' },
  },
});
const limit = Number(opts.photos);
const small = Number(opts.small);
const width = Number(opts.width);
const height = Number(opts.height);
const scenes = Number(opts.scenes);
const workerConcurrency = Number(opts['worker-concurrency']);
const limitMib = Number(opts['limit-mib']);

if (!opts['skip-build']) buildServices();
const { startPostgres, startRedis, freePort, makeTempDir, removeTempDir } = await import(
  '@media-cluster/testkit'
);
const { default: pg } = await import('pg');
// The worker decodes with sharp; the benchmark encodes its photos with the same copy.
const sharp = createRequire(join(repoRoot, 'packages', 'clustering', 'package.json'))('sharp');

const KEY = 'bench-job-limit-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const MIB = 1024 * 1024;

/** `count` JPEGs of width x height: a colour gradient per scene plus seeded noise. */
async function makeScenes(count) {
  const out = [];
  for (let s = 0; s < count; s++) {
    const raw = Buffer.alloc(width * height * 3);
    let seed = (s + 1) * 2_654_435_761;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        seed = (seed * 1_103_515_245 + 12_345) >>> 0;
        const noise = (seed >>> 24) / 16;
        const i = (y * width + x) * 3;
        raw[i] = ((x * 255) / width + s * 37 + noise) & 255;
        raw[i + 1] = ((y * 255) / height + s * 71 + noise) & 255;
        raw[i + 2] = (((x + y) * 127) / (width + height) + s * 113 + noise) & 255;
      }
    }
    out.push(
      await sharp(raw, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
  }
  return out;
}

/** The same JPEG with a COM segment after SOI: same pixels, distinct bytes. */
function distinctJpeg(jpeg, n) {
  const text = Buffer.from(`bench photo ${n}`);
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** `KEY=VALUE` lines of /proc/<pid>/status as numbers of KiB where they have a unit. */
function procStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^(\w+):\s+(\d+) kB$/.exec(l))
      .filter(Boolean)
      .map((m) => [m[1], Number(m[2])]),
  );
}

const redisServer = await startRedis({ appendOnly: false });
const postgres = await startPostgres();
const sink = await startOtlpSink();
const photoDir = makeTempDir('bench-job-limit-photos');
const db = new pg.Pool({ connectionString: postgres.url, max: 2 });
const shared = {
  REDIS_URL: redisServer.url,
  DATABASE_URL: postgres.url,
  API_KEYS: `${KEY}:bench-owner`,
  QUEUE_PREFIX: 'bench-job-limit',
  PHOTO_DIR: photoDir,
  LOG_LEVEL: 'warn',
  MAX_JOB_PHOTOS: String(limit),
  WORKER_CONCURRENCY: String(workerConcurrency),
  ...sink.exporterEnv(),
};

async function upload(url, petId, photos) {
  // Batches within the api's per-request limits (50 files, 100 MB).
  for (let i = 0; i < photos.length; ) {
    const form = new FormData();
    let bytes = 0;
    let files = 0;
    while (i < photos.length && files < 50 && bytes + photos[i].length < 90 * MIB) {
      form.append('photos', new Blob([photos[i]]), `p${i}.jpg`);
      bytes += photos[i].length;
      files += 1;
      i += 1;
    }
    const res = await fetch(`${url}/v1/pets/${petId}/photos`, { method: 'POST', headers: auth, body: form });
    if (res.status !== 201) throw new Error(`upload for ${petId}: ${res.status} ${await res.text()}`);
  }
}

async function createJob(url, petId) {
  const res = await fetch(`${url}/v1/pets/${petId}/clustering-jobs`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: '{}',
  });
  if (res.status !== 202) throw new Error(`create job for ${petId}: ${res.status} ${await res.text()}`);
  return (await res.json()).jobId;
}

async function waitAll(ids, onPoll) {
  for (;;) {
    onPoll();
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS ok,
              count(*) FILTER (WHERE status IN ('failed', 'dead_lettered'))::int AS bad,
              max(error) AS error
         FROM jobs WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    if (rows[0].bad > 0) throw new Error(`${rows[0].bad} job(s) failed: ${rows[0].error}`);
    if (rows[0].ok === ids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rows = [];
let api;
try {
  console.error(
    `job-limit bench: making ${scenes} ${width}x${height} JPEGs; pets of ${small} and ${limit} photos; load ${loadText()}`,
  );
  const bases = await makeScenes(scenes);
  let n = 0;
  const photosOf = (count) =>
    Array.from({ length: count }, (_, i) => distinctJpeg(bases[i % bases.length], n++));
  const photoBytes = bases.reduce((s, b) => s + b.length, 0) / bases.length;

  const [port, apiMetrics] = [await freePort(), await freePort()];
  api = await startService({
    name: 'api',
    env: { ...shared, PORT: String(port), METRICS_PORT: String(apiMetrics) },
    readyUrl: `http://127.0.0.1:${apiMetrics}/ready`,
  });
  const url = `http://127.0.0.1:${port}`;
  await upload(url, 'pet-small', photosOf(small));
  const limitPets = Array.from({ length: workerConcurrency }, (_, i) => `pet-limit-${i}`);
  for (const pet of limitPets) await upload(url, pet, photosOf(limit));

  const cases = [
    { name: `${small} photos`, pets: ['pet-small'], photos: small },
    { name: `${limit} photos (the limit)`, pets: [limitPets[0]], photos: limit },
    { name: `${workerConcurrency} x ${limit} photos at once`, pets: limitPets, photos: limit },
  ];
  for (const c of cases) {
    const workerMetrics = await freePort();
    const worker = await startService({
      name: 'worker',
      env: { ...shared, WORKER_METRICS_PORT: String(workerMetrics) },
      readyUrl: `http://127.0.0.1:${workerMetrics}/ready`,
    });
    try {
      const idle = procStatus(worker.pid);
      let sampledPeak = idle.VmRSS;
      const started = performance.now();
      const ids = await Promise.all(c.pets.map((pet) => createJob(url, pet)));
      await waitAll(ids, () => {
        sampledPeak = Math.max(sampledPeak, procStatus(worker.pid).VmRSS);
      });
      const ms = performance.now() - started;
      const after = procStatus(worker.pid);
      const row = {
        name: c.name,
        jobs: c.pets.length,
        photos_per_job: c.photos,
        idle_rss_mib: round(idle.VmRSS / 1024),
        peak_rss_mib: round(after.VmHWM / 1024),
        sampled_peak_rss_mib: round(sampledPeak / 1024),
        limit_mib: limitMib,
        under_limit: after.VmHWM / 1024 < limitMib,
        seconds: round(ms / 1000, 1),
      };
      rows.push(row);
      console.error(
        `${c.name}: peak RSS ${row.peak_rss_mib} MiB (idle ${row.idle_rss_mib}) in ${row.seconds} s; load ${loadText()}`,
      );
    } finally {
      await worker.stop();
    }
  }

  const loadAfter = loadText();
  console.log(
    `\njob-limit: worker peak RSS, ${width}x${height} JPEGs (~${round(photoBytes / MIB, 1)} MiB each), ` +
      `WORKER_CONCURRENCY ${workerConcurrency}; load average ${loadAfter}`,
  );
  console.log(
    markdownTable(
      [
        ['job', (r) => r.name, 'left'],
        ['idle RSS MiB', (r) => r.idle_rss_mib],
        ['peak RSS MiB', (r) => r.peak_rss_mib],
        ['limit MiB', (r) => r.limit_mib],
        ['under limit', (r) => (r.under_limit ? 'yes' : 'NO'), 'left'],
        ['seconds', (r) => r.seconds],
      ],
      rows,
    ),
  );
  const file = writeResults(opts.out, {
    rows,
    meta: {
      benchmark: 'job-limit',
      generated_at: new Date().toISOString(),
      machine: { ...machine(), loadavg_at_end: loadAfter },
      max_job_photos: limit,
      photo: { width, height, mean_bytes: Math.round(photoBytes), scenes },
      worker: `one worker process per row, WORKER_CONCURRENCY ${workerConcurrency}, EMBED_CONCURRENCY default (4), default embedder, telemetry on`,
      statistic:
        'peak RSS = VmHWM of the worker process after the row (main thread + embedder threads); sampled = max VmRSS polled every ~50 ms',
    },
  });
  console.log(`wrote ${file}`);
} finally {
  await api?.stop();
  await db.end();
  await sink.stop();
  await redisServer.stop();
  await postgres.stop();
  removeTempDir(photoDir);
}
