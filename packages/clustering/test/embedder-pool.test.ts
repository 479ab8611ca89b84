import { PhotoRejectedError } from '@media-cluster/photo';
import { badUploadCorpus } from '@media-cluster/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEmbedder,
  createEmbedderPool,
  type EmbedderPool,
  EmbedderPoolError,
  embedderSpec,
} from '../src/index.js';
import { OOM_MARK } from './fixtures/oom-mark.js';
import { clusterManifest, readChecked } from './photo-fixtures.js';

describe('createEmbedderPool', () => {
  const pools: EmbedderPool[] = [];
  const open = (opts: Parameters<typeof createEmbedderPool>[0]) => {
    const pool = createEmbedderPool(opts);
    pools.push(pool);
    return pool;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('rejects an unknown embedder at once', () => {
    expect(() => createEmbedderPool({ embedder: 'nope' as 'default' })).toThrow(EmbedderPoolError);
    expect(() => createEmbedderPool({ embedder: 'nope' as 'default' })).toThrow(/unknown embedder/);
  });

  it("names the default embedder's model version and threshold without starting a thread", () => {
    const pool = open({});
    expect(pool.modelVersion).toBe(embedderSpec('default').modelVersion);
    expect(pool.clusterThreshold).toBe(embedderSpec('default').clusterThreshold);
    expect(pool.size).toBeGreaterThanOrEqual(1);
  });

  it('embeds on its threads exactly what the embedder gives on the calling thread', async () => {
    const pool = open({ size: 2 });
    const file = clusterManifest().files[0]!;
    const bytes = readChecked(file);
    const fromPool = await pool.process(bytes);
    const { decodePhoto } = await import('../src/index.js');
    const local = await (await createEmbedder('default')).embed(await decodePhoto(bytes));
    expect(Array.from(fromPool.vector)).toEqual(Array.from(local));
    expect(fromPool).toMatchObject({ width: file.width, height: file.height });
    expect(bytes.length).toBeGreaterThan(0); // the caller's buffer was copied, not detached
  });

  it('with transfer, moves a whole buffer to its thread instead of copying it, and copies a slice', async () => {
    const pool = open({ size: 1 });
    const file = clusterManifest().files[0]!;
    const expected = await pool.process(readChecked(file));

    // Its own ArrayBuffer, as fs.promises.readFile (the blob store) gives.
    const whole = new Uint8Array(readChecked(file));
    expect(whole.byteOffset === 0 && whole.byteLength === whole.buffer.byteLength).toBe(true);
    const moved = await pool.process(Buffer.from(whole.buffer), { transfer: true });
    expect(Array.from(moved.vector)).toEqual(Array.from(expected.vector));
    expect(whole.byteLength).toBe(0); // detached: the thread has the bytes now

    const bytes = readChecked(file);
    const backing = new Uint8Array(bytes.length + 16);
    backing.set(bytes, 8);
    const slice = Buffer.from(backing.buffer, 8, bytes.length);
    const copied = await pool.process(slice, { transfer: true });
    expect(Array.from(copied.vector)).toEqual(Array.from(expected.vector));
    expect(backing.byteLength).toBe(bytes.length + 16); // a slice is never detached
  });

  it('fails a bad photo alone, with its decode reason, and keeps working', async () => {
    const pool = open({ size: 2, maxPixels: 40_000_000 });
    const bad = badUploadCorpus().filter((f) => f.expect === 'reject');
    const good = clusterManifest().files.slice(0, 4);
    const results = await Promise.allSettled([...bad, ...good].map((f) => pool.process(readChecked(f))));
    bad.forEach((f, i) => {
      const r = results[i]!;
      expect(r.status, f.file).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(PhotoRejectedError);
      expect([f.file, error.reason]).toEqual([f.file, f.reason]);
    });
    for (const r of results.slice(bad.length)) expect(r.status).toBe('fulfilled');
  });

  it('passes maxPixels to the decoder', async () => {
    const pool = open({ size: 1, maxPixels: 1000 });
    await expect(pool.process(readChecked(clusterManifest().files[0]!))).rejects.toMatchObject({
      reason: 'too_large_dimensions',
    });
  });

  it('a thread that runs out of heap inside a job fails that job with CLUSTERING_WORKER_FAILED, is replaced, and the rest go on', async () => {
    // A heap the thread starts in comfortably (Node 24 aborts the whole process when a thread's
    // limit is too small to even start it); the marked job then really exhausts it.
    const pool = open({
      size: 2,
      tasksPerWorker: 1,
      resourceLimits: { maxOldGenerationSizeMb: 192 },
      workerModule: new URL('./fixtures/oom-pool-worker.ts', import.meta.url),
    });
    const photo = readChecked(clusterManifest().files[0]!);
    const hog = Buffer.from(OOM_MARK);
    const settled = await Promise.allSettled([photo, hog, photo, photo, photo].map((b) => pool.process(b)));
    const [first, oom, ...rest] = settled;
    expect(oom?.status).toBe('rejected');
    const error = (oom as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(EmbedderPoolError);
    expect(error.code).toBe('CLUSTERING_WORKER_FAILED');
    expect(error.message).toMatch(/memory/i);
    for (const r of [first, ...rest]) expect(r?.status).toBe('fulfilled');
    // Both threads (the replacement included) take work again, side by side.
    const again = await Promise.all([pool.process(photo), pool.process(photo)]);
    expect(again.map((r) => r.vector.length)).toEqual([expect.any(Number), expect.any(Number)]);
  });

  it('close() is idempotent and fails queued and later photos with CLUSTERING_POOL_CLOSED', async () => {
    const pool = open({ size: 1, tasksPerWorker: 1 });
    const bytes = readChecked(clusterManifest().files[0]!);
    const pending = Promise.allSettled(Array.from({ length: 6 }, () => pool.process(bytes)));
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    const settled = await pending;
    const closedCount = settled.filter(
      (r) => r.status === 'rejected' && (r.reason as EmbedderPoolError).code === 'CLUSTERING_POOL_CLOSED',
    ).length;
    expect(closedCount).toBeGreaterThanOrEqual(5); // at most the one in flight may have finished
    expect(
      settled.every(
        (r) => r.status === 'fulfilled' || (r.reason as EmbedderPoolError).code === 'CLUSTERING_POOL_CLOSED',
      ),
    ).toBe(true);
    await expect(pool.process(bytes)).rejects.toMatchObject({ code: 'CLUSTERING_POOL_CLOSED' });
  });
});
