import type { Redis } from 'ioredis';
import { FailureLog } from './logger.js';
import type { QueueLogger } from './types.js';

/** Give XREADGROUP this long to return after CLIENT UNBLOCK before dropping the reader connection. */
export const UNBLOCK_GRACE_MS = 1_000;

/** CLIENT SETNAME of a consumer's reader: printable, no spaces, so CLIENT LIST can find it. */
export function readerConnectionName(consumer: string): string {
  return `mcq-reader-${consumer}`.replace(/[^\x21-\x7e]/g, '_');
}

/** The dedicated connection for the blocking XREADGROUP; its errors go through a {@link FailureLog}. */
export function openReader(
  redis: Redis,
  connectionName: string,
  logger: QueueLogger,
  consumer: string,
): Redis {
  const reader = redis.duplicate({ connectionName });
  const readerErrors = new FailureLog(logger, 'reader connection', { consumer });
  reader.on('error', (error) => readerErrors.failed(error));
  reader.on('ready', () => readerErrors.succeeded());
  return reader;
}

/** Ends the blocking XREADGROUP at once instead of waiting up to blockMs. */
export async function unblockReader(redis: Redis, connectionName: string): Promise<void> {
  const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
  for (const line of list.split('\n')) {
    if (!line.includes(` name=${connectionName} `)) continue;
    const id = /(?:^|\s)id=(\d+)/.exec(line)?.[1];
    if (id) await redis.call('CLIENT', 'UNBLOCK', id);
  }
}

/** QUIT, bounded by {@link UNBLOCK_GRACE_MS}; the connection is dropped either way. */
export async function closeReader(reader: Redis): Promise<void> {
  try {
    await Promise.race([
      reader.quit(),
      delay(UNBLOCK_GRACE_MS).then(() => Promise.reject(new Error('QUIT timed out'))),
    ]);
  } finally {
    reader.disconnect();
  }
}

/** A timer that does not keep the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
