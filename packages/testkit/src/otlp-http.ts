import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import { decodeRequest, encodeEmptyResponse, OTLP_SERVICES } from './otlp-proto.js';
import type { ExportHandler, OtlpSignal } from './otlp-types.js';

export interface HttpTransport {
  readonly port: number;
  /** Drops every connection (hung requests too) and closes the port. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

const SIGNAL_BY_PATH = new Map<string, OtlpSignal>(
  (Object.entries(OTLP_SERVICES) as [OtlpSignal, { httpPath: string }][]).map(([signal, s]) => [
    s.httpPath,
    signal,
  ]),
);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function inflate(body: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || encoding === 'identity') return body;
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  throw new HttpError(415, `unsupported Content-Encoding ${encoding}`);
}

const CONTENT_TYPES = new Set(['application/x-protobuf', 'application/json']);

function decode(signal: OtlpSignal, contentType: string, body: Buffer): unknown {
  return contentType === 'application/json' ? JSON.parse(body.toString('utf8')) : decodeRequest(signal, body);
}

function reply(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array) {
  res.writeHead(status, { 'content-type': contentType }).end(body);
}

/** OTLP/HTTP: POST /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON bodies. */
export function startHttpTransport(
  host: string,
  port: number,
  handle: ExportHandler,
): Promise<HttpTransport> {
  const server = createServer(async (req, res) => {
    try {
      const signal = SIGNAL_BY_PATH.get((req.url ?? '').split('?')[0] ?? '');
      if (!signal) throw new HttpError(404, `no OTLP endpoint at ${req.url}`);
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!CONTENT_TYPES.has(contentType)) {
        throw new HttpError(
          415,
          `Content-Type must be application/x-protobuf or application/json, not "${contentType}"`,
        );
      }
      const body = inflate(await readBody(req), req.headers['content-encoding']);
      const verdict = handle(signal, 'http', () => decode(signal, contentType, body));
      if (verdict.outcome === 'hang') return; // never answered; close() drops the socket
      if (verdict.outcome === 'unavailable')
        throw new HttpError(503, 'testkit receiver: behaviour "unavailable"');
      if (verdict.outcome === 'invalid') throw new HttpError(400, `testkit receiver: ${verdict.reason}`);
      if (contentType === 'application/json') reply(res, 200, 'application/json', '{}');
      else reply(res, 200, 'application/x-protobuf', encodeEmptyResponse(signal));
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) reply(res, status, 'text/plain', (error as Error).message);
    }
  });
  // Keep-alive sockets would otherwise hold close() open.
  server.keepAliveTimeout = 1_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      let closing: Promise<void> | undefined;
      resolve({
        port: (server.address() as AddressInfo).port,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}
