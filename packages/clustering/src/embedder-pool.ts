import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { isPhotoRejectionReason, PHOTO_LIMITS, PhotoRejectedError } from '@media-cluster/photo';
import { type EmbedderChoice, type EmbedderName, embedderSpec } from './embedders.js';
import { EmbedderPoolError } from './errors.js';
import type { PoolWorkerData, TaskRequest, TaskResponse } from './pool-protocol.js';
import type { QualityScore } from './types.js';

export interface EmbedderPoolOptions {
  /**
   * Which embedder each thread runs.
   * @defaultValue 'default' (see DEFAULT_EMBEDDER)
   */
  embedder?: EmbedderChoice;
  /**
   * Worker threads; each decodes and embeds one photo at a time.
   * @defaultValue os.availableParallelism()
   */
  size?: number;
  /**
   * Largest original accepted, in pixels (see decodePhoto).
   * @defaultValue 40_000_000 (40 Mpx)
   */
  maxPixels?: number;
  /**
   * Photos handed to one thread before it answers: 2 lets one photo's decode (libuv thread pool)
   * overlap another's embedding (JS thread).
   * @defaultValue 2
   */
  tasksPerWorker?: number;
  /**
   * Heap limits per thread (worker_threads `resourceLimits`): a thread that exceeds them dies, its
   * photos fail with CLUSTERING_WORKER_FAILED and it is replaced, instead of the whole process running out.
   * @defaultValue Node's defaults (no extra limit)
   */
  resourceLimits?: ResourceLimits;
  /**
   * Module each thread runs instead of this package's pool-worker (tests wrap the real one to
   * make a thread fail in ways a photo cannot, e.g. run out of heap inside a job).
   * @defaultValue the pool-worker next to this module
   */
  workerModule?: URL;
}

export interface ProcessedPhoto {
  vector: Float32Array;
  quality: QualityScore;
  /** Upright width of the original. */
  width: number;
  /** Upright height of the original. */
  height: number;
  /** Time spent on the worker thread (queueing excluded), for span events and benchmarks. */
  timings: { decodeMs: number; embedMs: number; qualityMs: number };
}

export interface ProcessOptions {
  /**
   * Move the caller's bytes to the thread instead of copying them; the caller's buffer is empty
   * (detached) afterwards. Only a buffer that is the whole of its ArrayBuffer moves (never a slice,
   * e.g. of Node's shared Buffer pool): any other is copied as without this option. Each copy is
   * memory outside the heap, and on the job path that churn is what set off most of the main
   * thread's full garbage collections (bench/README.md, "Where the telemetry cost goes (worker)").
   * @defaultValue false
   */
  transfer?: boolean;
}

export interface EmbedderPool {
  readonly embedderName: EmbedderName;
  readonly modelVersion: string;
  /** Pass to `cluster(…, { threshold })` (the default threshold fits the default embedder only). */
  readonly clusterThreshold: number;
  readonly size: number;
  /**
   * Decodes, embeds and scores one photo on a worker thread.
   * @throws PhotoRejectedError for a bad photo (only that photo fails); EmbedderPoolError when the
   *   pool is closed or a thread died (the job should be retried).
   */
  process(bytes: Uint8Array, options?: ProcessOptions): Promise<ProcessedPhoto>;
  /** Rejects queued and in-flight photos with CLUSTERING_POOL_CLOSED and stops every thread. Idempotent. */
  close(): Promise<void>;
}

interface Task {
  id: number;
  bytes: Uint8Array;
  resolve(result: ProcessedPhoto): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Task>;
}

/**
 * Where the worker script is: next to this module. From the built package that is
 * dist/pool-worker.js; from the TypeScript sources (vitest, with the `source` export condition) it is
 * src/pool-worker.ts, which a thread can only load after registering tsx's ESM hooks (tsx is a dev
 * dependency): a tiny eval'd bootstrap does that, then imports the script.
 */
function workerEntry(module?: URL): { script: string | URL; eval: boolean } {
  const here = import.meta.url;
  const target = module ?? new URL(here.endsWith('.ts') ? './pool-worker.ts' : './pool-worker.js', here);
  if (!target.pathname.endsWith('.ts')) return { script: target, eval: false };
  // The ESM build of `tsx/esm/api` (its exports map's "import" target; require.resolve gives the CJS one).
  const tsxRoot = dirname(createRequire(here).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const script = target.href;
  return {
    script: `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script)}); });`,
    eval: true,
  };
}

/**
 * A pool of worker threads that decode, embed and score photos off the main thread, so the
 * caller's event loop (stream consumer, metrics endpoint) stays responsive. Threads start on the
 * first photo and are replaced if one dies.
 * @throws EmbedderPoolError CLUSTERING_UNKNOWN_EMBEDDER at once for a bad `embedder`.
 */
export function createEmbedderPool(opts: EmbedderPoolOptions = {}): EmbedderPool {
  const spec = embedderSpec(opts.embedder ?? 'default');
  const size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
  const tasksPerWorker = Math.max(1, Math.floor(opts.tasksPerWorker ?? 2));
  const workerData: PoolWorkerData = {
    embedder: spec.name,
    maxPixels: opts.maxPixels ?? PHOTO_LIMITS.maxPixels,
  };
  const entry = workerEntry(opts.workerModule);

  const slots: Slot[] = [];
  const queue: Task[] = [];
  let nextId = 1;
  let closed = false;
  let closing: Promise<void> | undefined;

  const spawn = (): Slot => {
    const worker = new Worker(entry.script, {
      workerData,
      eval: entry.eval,
      ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
    });
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (res: TaskResponse) => {
      const task = slot.inFlight.get(res.id);
      if (!task) return;
      slot.inFlight.delete(res.id);
      if (res.ok) {
        task.resolve({
          vector: res.vector,
          quality: res.quality,
          width: res.width,
          height: res.height,
          timings: res.timings,
        });
      } else if (res.error.name === 'PhotoRejectedError' && isPhotoRejectionReason(res.error.reason)) {
        task.reject(new PhotoRejectedError(res.error.reason, res.error.message));
      } else {
        task.reject(
          new EmbedderPoolError('CLUSTERING_WORKER_FAILED', `embedding failed: ${res.error.message}`),
        );
      }
      pump();
    });
    const fail = (error: Error) => {
      const index = slots.indexOf(slot);
      if (index < 0) return;
      slots.splice(index, 1);
      for (const task of slot.inFlight.values()) {
        task.reject(
          closed
            ? new EmbedderPoolError('CLUSTERING_POOL_CLOSED', 'the embedder pool was closed')
            : new EmbedderPoolError('CLUSTERING_WORKER_FAILED', `embedder thread died: ${error.message}`, {
                cause: error,
              }),
        );
      }
      slot.inFlight.clear();
      if (!closed) pump(); // replaces the thread if work is waiting
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    slots.push(slot);
    return slot;
  };

  const pump = (): void => {
    while (!closed && queue.length > 0) {
      let slot = slots.reduce<Slot | undefined>(
        (best, s) => (!best || s.inFlight.size < best.inFlight.size ? s : best),
        undefined,
      );
      if (!slot || (slot.inFlight.size > 0 && slots.length < size)) slot = spawn();
      if (slot.inFlight.size >= tasksPerWorker) break;
      const task = queue.shift()!;
      slot.inFlight.set(task.id, task);
      const request: TaskRequest = { id: task.id, bytes: task.bytes };
      slot.worker.postMessage(request, [task.bytes.buffer as ArrayBuffer]);
    }
    // Idle threads must not keep the process alive.
    for (const s of slots) {
      if (s.inFlight.size > 0) s.worker.ref();
      else s.worker.unref();
    }
  };

  return {
    embedderName: spec.name,
    modelVersion: spec.modelVersion,
    clusterThreshold: spec.clusterThreshold,
    size,
    process(bytes: Uint8Array, options: ProcessOptions = {}): Promise<ProcessedPhoto> {
      if (closed)
        return Promise.reject(
          new EmbedderPoolError('CLUSTERING_POOL_CLOSED', 'the embedder pool was closed'),
        );
      if (!(bytes instanceof Uint8Array)) return Promise.reject(new TypeError('process() expects a Buffer'));
      const whole =
        bytes.buffer instanceof ArrayBuffer &&
        bytes.byteOffset === 0 &&
        bytes.byteLength === bytes.buffer.byteLength;
      // Otherwise a private copy: the caller keeps its buffer, and ours moves to the thread.
      const own = options.transfer && whole ? bytes : new Uint8Array(bytes);
      return new Promise<ProcessedPhoto>((resolve, reject) => {
        queue.push({ id: nextId++, bytes: own, resolve, reject });
        pump();
      });
    },
    close(): Promise<void> {
      if (closing) return closing;
      closed = true;
      for (const task of queue.splice(0)) {
        task.reject(new EmbedderPoolError('CLUSTERING_POOL_CLOSED', 'the embedder pool was closed'));
      }
      closing = Promise.allSettled(slots.map((s) => s.worker.terminate())).then(() => {
        // 'exit' handlers reject what was in flight; this catches a thread that never got to exit.
        for (const s of slots.splice(0)) {
          for (const task of s.inFlight.values()) {
            task.reject(new EmbedderPoolError('CLUSTERING_POOL_CLOSED', 'the embedder pool was closed'));
          }
        }
      });
      return closing;
    },
  };
}
