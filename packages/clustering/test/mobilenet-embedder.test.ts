import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cosineDistances,
  createEmbedder,
  createEmbedderPool,
  decodePhoto,
  type Embedder,
  embedderSpec,
} from '../src/index.js';
import { clusterManifest, readChecked } from './photo-fixtures.js';

// The learned embedder: MobileNetV2 weights bundled in the nsfwjs npm package, tfjs WASM backend.
// Nothing here can reach a network: the test proves the weights load from the package itself.
describe('mobilenet embedder', () => {
  const files = clusterManifest().files;
  const byName = (name: string) => files.find((f) => f.file === `clusters/${name}`)!;
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await createEmbedder('mobilenet');
  }, 60_000);
  afterAll(() => embedder?.dispose?.());

  it('loads the bundled weights and embeds a photo into a 7 x 576-d vector', async () => {
    expect(embedder.modelVersion).toBe(embedderSpec('mobilenet').modelVersion);
    const vector = await embedder.embed(await decodePhoto(readChecked(byName('chelsea-01.jpg'))));
    expect(vector).toHaveLength(7 * 576);
    expect(vector.some((x) => x > 0)).toBe(true);
    expect(vector.every(Number.isFinite)).toBe(true);
  });

  it('puts a flipped shot of a scene nearer than another scene', async () => {
    const [a, flipped, other] = await Promise.all(
      ['chelsea-01.jpg', 'chelsea-03.jpg', 'coffee-01.jpg'].map(async (n) =>
        embedder.embed(await decodePhoto(readChecked(byName(n)))),
      ),
    );
    const d = cosineDistances([a!, flipped!, other!]);
    expect(d[1]!).toBeLessThan(d[2]!); // d(a, flipped) < d(a, other)
    expect(d[1]!).toBeLessThan(embedderSpec('mobilenet').clusterThreshold);
  });

  it('runs in the worker-thread pool too', async () => {
    const pool = createEmbedderPool({ embedder: 'mobilenet', size: 1 });
    try {
      const r = await pool.process(readChecked(byName('coffee-02.jpg')));
      expect(r.vector).toHaveLength(7 * 576);
      expect(pool.modelVersion).toBe(embedder.modelVersion);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
