#!/usr/bin/env node
// `pnpm bench clustering [--runs N] [--jobs N] [--embedders a,b]`
// Each embedder on the 48-photo labelled set (packages/testkit/fixtures/photos/clusters, or PHOTOS_DIR), end to end
// with the functions the worker runs: embedPhotos (decode + embed + quality on the pool's worker threads,
// 2 per thread in flight, at most 4 photos read at once = the worker's default EMBED_CONCURRENCY), cluster
// (at the pool's threshold), selectHeroes. Every run is a fresh Node process (so peak RSS is that embedder's
// alone): start the pool, one untimed warm-up job (threads + model load), then the timed jobs.
// Prints a table and writes bench/results/clustering.json. Numbers from a shared machine are noisy.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const photosDir = process.env.PHOTOS_DIR ?? join(here, '..', 'packages', 'testkit', 'fixtures', 'photos');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '3' },
    embedders: { type: 'string', default: 'classic,mobilenet' },
    child: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});

function labelledSet() {
  const manifest = JSON.parse(readFileSync(join(photosDir, 'clusters', 'manifest.json'), 'utf8'));
  return manifest.files.map((f) => {
    const bytes = readFileSync(join(photosDir, f.file));
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== f.sha256) throw new Error(`fixture changed: ${f.file}`);
    return { id: f.file, group: f.group, bytes };
  });
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs) => percentile(xs, 50);

/** One job as the worker's stages run it (services/worker/src/process-job.ts), without the spans. */
async function runJob(clustering, pool, photos) {
  const { embedPhotos, cluster, selectHeroes } = clustering;
  const details = new Map();
  let t = performance.now();
  const { embedded, failed } = await embedPhotos(pool, photos, {
    concurrency: EMBED_CONCURRENCY,
    read: async (photo) => photo.bytes,
    onEmbedded: (photo, result, ms) => details.set(photo.id, { ...result, ms }),
  });
  const embedMs = performance.now() - t;
  t = performance.now();
  const groups = cluster(embedded, { threshold: pool.clusterThreshold });
  const clusterMs = performance.now() - t;
  t = performance.now();
  const clusters = selectHeroes(groups, new Map(embedded.map((e) => [e.id, e.quality])));
  const selectHeroesMs = performance.now() - t;
  return { clusters, failed, photos: details, timings: { embedMs, clusterMs, selectHeroesMs } };
}

/** The worker's default EMBED_CONCURRENCY. */
const EMBED_CONCURRENCY = 4;

async function child(embedder, jobs) {
  const clustering = await import('@media-cluster/clustering');
  const { adjustedRandIndex, createEmbedderPool } = clustering;
  const photos = labelledSet();
  const truth = new Map(photos.map((p) => [p.id, p.group]));
  const started = performance.now();
  const pool = createEmbedderPool({ embedder });
  await runJob(clustering, pool, photos); // warm-up: threads, model load
  const coldMs = performance.now() - started;
  const out = [];
  for (let j = 0; j < jobs; j++) {
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t = performance.now();
    const result = await runJob(clustering, pool, photos);
    const ms = performance.now() - t;
    loop.disable();
    const photoTimings = [...result.photos.values()].map((p) => p.timings);
    const perPhoto = photoTimings.map((t) => t.decodeMs + t.embedMs + t.qualityMs);
    out.push({
      ms,
      photos: photos.length,
      ari: adjustedRandIndex(result.clusters, truth),
      clusters: result.clusters.length,
      failed: result.failed.length,
      perPhotoMs: perPhoto,
      decodeMs: photoTimings.map((t) => t.decodeMs),
      embedMs: photoTimings.map((t) => t.embedMs),
      stageMs: {
        embed: result.timings.embedMs,
        cluster: result.timings.clusterMs,
        selectHeroes: result.timings.selectHeroesMs,
      },
      loopDelayMaxMs: loop.max / 1e6,
    });
  }
  await pool.close();
  const peakRssMb = process.resourceUsage().maxRSS / 1024; // KiB -> MiB, every thread of the process
  process.stdout.write(
    `${JSON.stringify({ embedder, modelVersion: pool.modelVersion, threads: pool.size, coldMs, peakRssMb, jobs: out })}\n`,
  );
}

function parent() {
  if (!values['no-build']) {
    // The benchmark runs the built package (dist/), as the worker service does.
    execFileSync('pnpm', ['--filter', '@media-cluster/clustering', 'build'], { stdio: 'ignore', cwd: here });
  }
  const runs = Number(values.runs);
  const jobs = Number(values.jobs);
  const embedders = values.embedders.split(',');
  const rows = [];
  const raw = [];
  for (const embedder of embedders) {
    const results = [];
    for (let r = 0; r < runs; r++) {
      const res = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), '--child', embedder, '--jobs', String(jobs)],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      if (res.status !== 0) throw new Error(`${embedder} run ${r + 1} failed:\n${res.stderr}`);
      const line = res.stdout.trim().split('\n').pop();
      results.push(JSON.parse(line));
      process.stderr.write(`${embedder}: run ${r + 1}/${runs} done\n`);
    }
    const allJobs = results.flatMap((x) => x.jobs);
    const aris = allJobs.map((j) => j.ari);
    rows.push({
      embedder,
      model_version: results[0].modelVersion,
      ari: +Math.min(...aris).toFixed(3),
      photos_per_s: +median(allJobs.map((j) => (j.photos / j.ms) * 1000)).toFixed(1),
      photos_per_s_min: +Math.min(...allJobs.map((j) => (j.photos / j.ms) * 1000)).toFixed(1),
      p95_ms_per_photo: +percentile(
        allJobs.flatMap((j) => j.perPhotoMs),
        95,
      ).toFixed(1),
      peak_rss_mb: Math.round(Math.max(...results.map((x) => x.peakRssMb))),
      job_ms_median: Math.round(median(allJobs.map((j) => j.ms))),
      decode_ms_median: +median(allJobs.flatMap((j) => j.decodeMs)).toFixed(1),
      embed_ms_median: +median(allJobs.flatMap((j) => j.embedMs)).toFixed(1),
      cluster_ms_median: +median(allJobs.map((j) => j.stageMs.cluster)).toFixed(2),
      cold_start_ms_median: Math.round(median(results.map((x) => x.coldMs))),
      event_loop_delay_max_ms: +Math.max(...allJobs.map((j) => j.loopDelayMaxMs)).toFixed(1),
      threads: results[0].threads,
      runs,
      jobs_per_run: jobs,
    });
    raw.push(
      ...results.map((x) => ({ ...x, jobs: x.jobs.map(({ perPhotoMs, decodeMs, embedMs, ...j }) => j) })),
    );
  }

  const cols = [
    'embedder',
    'ari',
    'photos_per_s',
    'p95_ms_per_photo',
    'peak_rss_mb',
    'job_ms_median',
    'decode_ms_median',
    'embed_ms_median',
    'cold_start_ms_median',
    'event_loop_delay_max_ms',
  ];
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log(
    `clustering: ${rows[0]?.jobs_per_run ?? 0} timed jobs x ${runs} runs of the labelled set (48 photos), ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));

  mkdirSync(join(here, 'results'), { recursive: true });
  const file = join(here, 'results', 'clustering.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        benchmark: 'clustering',
        generated_at: new Date().toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
        job: 'the 48-photo labelled set, end to end: decode + embed + quality on the pool, cluster, selectHeroes',
        rows,
        runs: raw,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${file}`);
}

if (values.child) await child(values.child, Number(values.jobs));
else parent();
