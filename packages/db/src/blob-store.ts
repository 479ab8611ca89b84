import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DbError } from './errors.js';

/** Content-addressed bytes: a blob's name is the sha256 (64 lowercase hex) of its bytes. */
export interface BlobStore {
  /** Stores `data` under `sha256` (checked against the bytes); a no-op when present. */
  put(sha256: string, data: Buffer): Promise<void>;
  /** The bytes; throws `DbError` `DB_BLOB_NOT_FOUND` when absent. */
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
}

export interface FsBlobStoreOptions {
  /** Root folder (`PHOTO_DIR`); created when missing. */
  dir: string;
  /**
   * fsync each new blob before it becomes visible, so a machine crash never
   * leaves a half-written photo under its final name. @defaultValue true
   */
  fsync?: boolean;
}

const SHA256 = /^[0-9a-f]{64}$/;

function checkName(sha256: string): void {
  // Also what keeps a name from escaping the root (no "/" or "..").
  if (!SHA256.test(sha256))
    throw new DbError('DB_INVALID_SHA256', 'A blob name must be 64 lowercase hex characters');
}

/**
 * A {@link BlobStore} on the filesystem: `<dir>/ab/cd/<sha256>` (two levels of
 * 256 folders keep directories small). Writes go to a temp file in the target
 * folder and are renamed into place, so readers never see a partial blob and
 * two writers of the same blob both succeed.
 */
export function createFsBlobStore(options: FsBlobStoreOptions): BlobStore {
  const { dir } = options;
  const fsync = options.fsync ?? true;
  const folderOf = (sha256: string) => join(dir, sha256.slice(0, 2), sha256.slice(2, 4));
  const pathOf = (sha256: string) => join(folderOf(sha256), sha256);

  async function has(sha256: string): Promise<boolean> {
    checkName(sha256);
    try {
      return (await stat(pathOf(sha256))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  return {
    has,
    async put(sha256, data) {
      checkName(sha256);
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== sha256)
        throw new DbError('DB_BLOB_HASH_MISMATCH', `Bytes hash to ${actual}, not ${sha256}`);
      if (await has(sha256)) return;
      const folder = folderOf(sha256);
      await mkdir(folder, { recursive: true });
      const temp = join(folder, `.${sha256}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const handle = await open(temp, 'wx', 0o644);
        try {
          await handle.writeFile(data);
          if (fsync) await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, pathOf(sha256));
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async get(sha256) {
      checkName(sha256);
      try {
        return await readFile(pathOf(sha256));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new DbError('DB_BLOB_NOT_FOUND', `Blob ${sha256} is not in the store`, { cause: error });
        }
        throw error;
      }
    },
  };
}
