// Worker-thread entry of the embedder pool: decode + embed + quality for one photo per message.
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { decodePhoto } from './decode-photo.js';
import { createEmbedder } from './embedders.js';
import type { PoolWorkerData, TaskRequest, TaskResponse } from './pool-protocol.js';
import { scoreQuality } from './quality.js';

const port = parentPort;
if (!port) throw new Error('pool-worker must run in a worker thread');
const { embedder: choice, maxPixels } = workerData as PoolWorkerData;

// The pool already runs one thread per core: libvips threads on top would only oversubscribe, and its
// operation cache would hold decoded pixels we never reuse.
sharp.concurrency(1);
sharp.cache(false);

const embedder = createEmbedder(choice);
embedder.catch(() => {}); // reported per task below

let computing: Promise<unknown> = Promise.resolve();
/**
 * Runs CPU-bound steps one photo at a time on this thread, so each photo's timing is its own and
 * at most one photo's tensors are alive; decodes (libvips, on libuv's pool) still overlap them.
 */
function serially<T>(step: () => Promise<T> | T): Promise<T> {
  const run = computing.then(step, step);
  computing = run.catch(() => {});
  return run;
}

port.on('message', async ({ id, bytes }: TaskRequest) => {
  let response: TaskResponse;
  const transfer: ArrayBuffer[] = [];
  try {
    const started = performance.now();
    const image = await decodePhoto(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      maxPixels,
    });
    const decodeMs = performance.now() - started;
    const embed = await embedder.catch((cause: unknown) => {
      throw Object.assign(new Error(`embedder "${choice}" failed to start: ${String(cause)}`), {
        name: 'EmbedderStartError',
      });
    });
    const computed = await serially(async () => {
      const t0 = performance.now();
      const vector = await embed.embed(image);
      const t1 = performance.now();
      const quality = scoreQuality(image);
      return { vector, quality, embedMs: t1 - t0, qualityMs: performance.now() - t1 };
    });
    let { vector } = computed;
    const { quality } = computed;
    const timings = { decodeMs, embedMs: computed.embedMs, qualityMs: computed.qualityMs };
    if (vector.byteOffset !== 0 || vector.byteLength !== vector.buffer.byteLength) vector = vector.slice();
    transfer.push(vector.buffer as ArrayBuffer);
    response = {
      id,
      ok: true,
      vector,
      quality,
      width: image.width,
      height: image.height,
      timings,
    };
  } catch (error) {
    const e = error as { name?: string; code?: string; reason?: string; message?: string };
    response = {
      id,
      ok: false,
      error: { name: e.name ?? 'Error', code: e.code, reason: e.reason, message: e.message ?? String(error) },
    };
  }
  port.postMessage(response, transfer);
});
