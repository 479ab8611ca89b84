#!/usr/bin/env node
// Demo loader: uploads the demo photos for a few pets, runs a clustering job
// per pet, waits for them and prints where to look. Used by `npm start` on an
// empty database and by the one-shot `demo` service in docker compose.
//   API_URL (http://localhost:8080)  API_KEY (local-dev-key)  DEMO_PHOTOS_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_PHOTOS = fileURLToPath(new URL('../services/api/demo-photos', import.meta.url));
const TYPES = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };

/**
 * One demo pet gets every demo photo (several bursts, so the job finds several
 * clusters); a second pet gets one burst, so the dashboards show two jobs.
 */
function demoPets(dir) {
  const files = readdirSync(dir)
    .sort()
    .filter((f) => TYPES[extname(f)])
    .map((f) => join(dir, f));
  const firstBurst = basename(files[0] ?? '').replace(/-\d+\.\w+$/, '');
  return new Map([
    ['demo-pet', files],
    ['demo-pet-2', files.filter((f) => basename(f).startsWith(`${firstBurst}-`))],
  ]);
}

async function call(apiUrl, apiKey, path, init = {}) {
  const res = await fetch(new URL(path, apiUrl), {
    ...init,
    headers: { authorization: `Bearer ${apiKey}`, ...(init.headers ?? {}) },
  });
  const body = res.status === 204 || res.status === 304 ? null : await res.json().catch(() => null);
  return { status: res.status, body, headers: res.headers };
}

/**
 * Loads the demo unless it is there already. Resolves with the jobs it ran
 * ({ petId, jobId, traceId, status }), or [] when the demo was already loaded.
 */
export async function runDemo({
  apiUrl = 'http://localhost:8080',
  apiKey = 'local-dev-key',
  photosDir = DEFAULT_PHOTOS,
  timeoutMs = 120_000,
  log = (line) => process.stderr.write(`[demo] ${line}\n`),
} = {}) {
  const pets = demoPets(photosDir);
  const jobs = [];
  for (const [petId, files] of pets) {
    const existing = await call(apiUrl, apiKey, `/v1/pets/${petId}/clusters`);
    if (existing.status === 200) {
      log(`${petId} already has clusters; skipping`);
      continue;
    }
    const form = new FormData();
    for (const file of files) {
      form.append('photos', new Blob([readFileSync(file)], { type: TYPES[extname(file)] }), basename(file));
    }
    const upload = await call(apiUrl, apiKey, `/v1/pets/${petId}/photos`, { method: 'POST', body: form });
    if (upload.status !== 201)
      throw new Error(`upload for ${petId} failed: ${upload.status} ${JSON.stringify(upload.body)}`);
    log(`uploaded ${upload.body.photos.length} photos for ${petId}`);
    const created = await call(apiUrl, apiKey, `/v1/pets/${petId}/clustering-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `demo-${petId}` },
      body: JSON.stringify({}),
    });
    if (created.status !== 202)
      throw new Error(`job for ${petId} failed: ${created.status} ${JSON.stringify(created.body)}`);
    log(`job ${created.body.jobId} queued for ${petId} (trace ${created.body.traceId ?? 'n/a'})`);
    jobs.push({ petId, jobId: created.body.jobId, traceId: created.body.traceId, status: 'queued' });
  }

  const deadline = Date.now() + timeoutMs;
  for (const job of jobs) {
    let etag;
    for (;;) {
      const res = await call(apiUrl, apiKey, `/v1/jobs/${job.jobId}`, {
        headers: etag ? { 'if-none-match': etag } : {},
      });
      if (res.status === 200) {
        etag = res.headers.get('etag') ?? undefined;
        if (res.body.status !== job.status) log(`job ${job.jobId}: ${res.body.status}`);
        job.status = res.body.status;
        job.traceId = res.body.traceId ?? job.traceId;
      }
      if (['succeeded', 'dead_lettered'].includes(job.status)) break;
      if (Date.now() > deadline)
        throw new Error(`job ${job.jobId} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250)); // polling interval of a client, not a readiness wait
    }
    if (job.status === 'succeeded') {
      const clusters = await call(apiUrl, apiKey, `/v1/pets/${job.petId}/clusters`);
      log(
        `${job.petId}: ${clusters.body.clusters.length} cluster(s) from ${pets.get(job.petId).length} photos`,
      );
    }
  }
  return jobs;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runDemo({
    apiUrl: process.env.API_URL ?? 'http://localhost:8080',
    apiKey: process.env.API_KEY ?? 'local-dev-key',
    photosDir: process.env.DEMO_PHOTOS_DIR ?? DEFAULT_PHOTOS,
  }).then(
    (jobs) => {
      for (const j of jobs)
        process.stdout.write(`${j.petId} job ${j.jobId} ${j.status} trace ${j.traceId}\n`);
      process.exit(jobs.every((j) => j.status === 'succeeded') ? 0 : 1);
    },
    (error) => {
      process.stderr.write(`[demo] ${error.message}\n`);
      process.exit(1);
    },
  );
}
