import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@media-cluster/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BlobStore, createFsBlobStore, isDbError } from '../src/index.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let dir: string;
let store: BlobStore;
beforeEach(() => {
  dir = makeTempDir('blobs');
  store = createFsBlobStore({ dir: join(dir, 'photos') });
});
afterEach(() => removeTempDir(dir));

describe('createFsBlobStore', () => {
  it('stores bytes under their sha256 in sharded folders and reads them back', async () => {
    const data = Buffer.from('a photo, honestly');
    const name = sha(data);
    expect(await store.has(name)).toBe(false);
    await store.put(name, data);
    expect(await store.has(name)).toBe(true);
    expect((await store.get(name)).equals(data)).toBe(true);
    expect(readdirSync(join(dir, 'photos', name.slice(0, 2), name.slice(2, 4)))).toEqual([name]);
  });

  it('is idempotent, also for concurrent writers of the same blob, and leaves no temp files', async () => {
    const data = Buffer.alloc(256 * 1024, 7);
    const name = sha(data);
    await Promise.all([1, 2, 3, 4, 5].map(() => store.put(name, data)));
    await store.put(name, data);
    expect(readdirSync(join(dir, 'photos', name.slice(0, 2), name.slice(2, 4)))).toEqual([name]);
    expect((await store.get(name)).equals(data)).toBe(true);
  });

  it('refuses bytes that do not match the name', async () => {
    const name = sha(Buffer.from('one'));
    await expect(store.put(name, Buffer.from('two'))).rejects.toSatisfy((e) =>
      isDbError(e, 'DB_BLOB_HASH_MISMATCH'),
    );
    expect(await store.has(name)).toBe(false);
  });

  it('reports a missing blob with DB_BLOB_NOT_FOUND', async () => {
    await expect(store.get(sha(Buffer.from('absent')))).rejects.toSatisfy((e) =>
      isDbError(e, 'DB_BLOB_NOT_FOUND'),
    );
  });

  it('refuses names that are not sha256 hex (no path escapes)', async () => {
    for (const name of ['../../etc/passwd', 'ABC', `${'a'.repeat(63)}/`, 'A'.repeat(64)]) {
      await expect(store.has(name)).rejects.toSatisfy((e) => isDbError(e, 'DB_INVALID_SHA256'));
      await expect(store.get(name)).rejects.toSatisfy((e) => isDbError(e, 'DB_INVALID_SHA256'));
    }
  });
});
