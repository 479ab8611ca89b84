import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { ApiError } from '../errors.js';

/** One complete file part, as handed to the per-file handler. */
export interface UploadedFile {
  /** 0-based position among the request's files. */
  index: number;
  /** The client's file name (for messages only; never trusted for the type). */
  filename: string;
  data: Buffer;
  sha256: string;
}

export interface ReadMultipartOptions {
  /** The only accepted field name. */
  field: string;
  maxFiles: number;
  maxFileBytes: number;
  maxRequestBytes: number;
}

const MULTIPART = /^multipart\/form-data\s*;/i;

/**
 * Streams a multipart/form-data request through busboy and calls `handle` for
 * each file as soon as it is complete, one at a time: while a file is being
 * handled the next one is paused (and with it the socket), so at most one
 * file (<= maxFileBytes) is buffered. All-or-nothing: the first bad part
 * rejects with an ApiError naming it; the rest of the body is then drained
 * (bounded by maxRequestBytes) so the client can read the answer.
 */
export function readMultipart<T>(
  req: IncomingMessage,
  options: ReadMultipartOptions,
  handle: (file: UploadedFile) => Promise<T>,
): Promise<T[]> {
  const type = req.headers['content-type'] ?? '';
  if (!MULTIPART.test(type)) {
    return Promise.reject(
      new ApiError(
        'unsupported_media_type',
        `Send multipart/form-data with the photos in "${options.field}"`,
      ),
    );
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > options.maxRequestBytes) {
    return Promise.reject(tooLarge(options.maxRequestBytes));
  }

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: {
        files: options.maxFiles,
        fileSize: options.maxFileBytes,
        fields: 0,
        parts: options.maxFiles + 1,
        headerPairs: 50,
      },
    });
  } catch (error) {
    return Promise.reject(new ApiError('malformed_multipart', (error as Error).message, { cause: error }));
  }

  return new Promise<T[]>((resolve, reject) => {
    const results: T[] = [];
    let files = 0;
    let received = 0;
    let failed = false;
    // Files are handled strictly in order, one at a time.
    let chain: Promise<void> = Promise.resolve();

    const fail = (error: ApiError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      parser.removeAllListeners();
      parser.on('error', () => {});
      drain(req, options.maxRequestBytes, received).then((closed) => {
        if (closed) error.headers.connection = 'close';
        reject(error);
      });
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.maxRequestBytes) fail(tooLarge(options.maxRequestBytes));
    });
    req.once('aborted', () => fail(new ApiError('malformed_multipart', 'The client aborted the upload')));
    req.once('error', (error) => fail(new ApiError('malformed_multipart', error.message, { cause: error })));

    parser.on('file', (name, stream, info) => {
      const index = files++;
      const filename = (info.filename ?? '').slice(0, 255);
      const where = { file: filename, index };
      if (failed) {
        stream.resume();
        return;
      }
      if (name !== options.field) {
        stream.resume();
        fail(
          new ApiError(
            'malformed_multipart',
            `Unexpected file field "${name.slice(0, 64)}"; use "${options.field}"`,
            {
              extras: where,
            },
          ),
        );
        return;
      }
      // Hold this file until the previous one is handled (backpressure to the socket).
      stream.pause();
      const previous = chain;
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        chunks.push(chunk);
      });
      stream.once('limit', () => {
        fail(
          new ApiError('file_too_large', `"${filename}" is larger than ${options.maxFileBytes} bytes`, {
            extras: { ...where, maxBytes: options.maxFileBytes },
          }),
        );
      });
      const done = new Promise<UploadedFile | undefined>((resolveFile) => {
        stream.once('end', () =>
          resolveFile(
            stream.truncated
              ? undefined
              : { index, filename, data: Buffer.concat(chunks), sha256: hash.digest('hex') },
          ),
        );
        stream.once('error', () => resolveFile(undefined));
      });
      chain = previous.then(async () => {
        if (failed) return;
        stream.resume();
        const file = await done;
        if (failed || !file) return;
        results[index] = await handle(file);
      });
      chain.catch((error: unknown) => {
        fail(
          error instanceof ApiError
            ? error
            : new ApiError('internal', 'Storing a photo failed', { extras: where, cause: error }),
        );
      });
    });

    parser.on('field', (name) => {
      fail(
        new ApiError(
          'malformed_multipart',
          `Unexpected form field "${name.slice(0, 64)}"; send only files in "${options.field}"`,
        ),
      );
    });
    parser.on('fieldsLimit', () =>
      fail(new ApiError('malformed_multipart', `Send only files in "${options.field}", no text fields`)),
    );
    parser.on('filesLimit', () =>
      fail(
        new ApiError('too_many_files', `At most ${options.maxFiles} photos per upload`, {
          extras: { maxFiles: options.maxFiles },
        }),
      ),
    );
    parser.on('partsLimit', () =>
      fail(
        new ApiError('too_many_files', `At most ${options.maxFiles} photos per upload`, {
          extras: { maxFiles: options.maxFiles },
        }),
      ),
    );
    parser.on('error', (error: Error) =>
      fail(new ApiError('malformed_multipart', error.message, { cause: error })),
    );
    parser.on('close', () => {
      chain.then(
        () => {
          if (failed) return;
          if (files === 0) {
            fail(new ApiError('no_files', `Send 1 to ${options.maxFiles} files in "${options.field}"`));
            return;
          }
          resolve(results);
        },
        () => {}, // already turned into fail()
      );
    });

    req.pipe(parser);
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `The upload is larger than ${limit} bytes`, {
    extras: { maxBytes: limit },
    headers: { connection: 'close' },
  });
}

/**
 * Reads and discards what is left of the body, so the client (still sending)
 * gets to read our answer. Resolves true when the connection should be closed
 * instead (too much left to read).
 */
function drain(req: IncomingMessage, limit: number, alreadyReceived: number): Promise<boolean> {
  if (req.readableEnded || req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let received = alreadyReceived;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) finish(true);
    };
    const finish = (close: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onEnd);
      if (close) req.pause();
      resolve(close);
    };
    const onEnd = () => finish(false);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onEnd);
    req.resume();
  });
}
