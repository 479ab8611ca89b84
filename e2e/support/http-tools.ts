// HTTP helpers for abuse and shutdown tests against the real processes:
// requests fetch() will not send (invalid bytes, 64 KB headers, 50 MB streamed
// bodies, aborted uploads), multipart bodies built by hand, and a webhook
// receiver that can hold its answers until the test releases them.
import { createServer, type IncomingHttpHeaders, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined;
}

export type Body = string | Buffer | (() => Iterable<Buffer> | AsyncIterable<Buffer>);

function reply(status: number, headers: IncomingHttpHeaders, text: string): Reply {
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/**
 * One request on a fresh connection. A function body is streamed with
 * backpressure (chunked unless `content-length` is set). The answer counts as
 * soon as it is complete, even when the server stops reading the body first.
 */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  { headers = {}, body }: { headers?: Record<string, string | number>; body?: Body } = {},
): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise<Reply>((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          answered = true;
          resolve(reply(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8')));
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    void (async () => {
      for await (const chunk of body()) {
        if (req.destroyed) return;
        if (!req.write(chunk)) {
          await new Promise<void>((r) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              r();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (!req.destroyed) req.end();
    })().catch(() => {});
  });
}

/** Writes raw bytes on a TCP connection and resolves with the parsed answer (for requests node:http refuses to send). */
export function sendRaw(baseUrl: string, bytes: string | Buffer): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise<Reply>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = split === -1 ? raw : raw.slice(0, split);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      resolve(reply(status, headers, split === -1 ? '' : raw.slice(split + 4)));
    });
    socket.write(bytes);
    // Half-close: a server that answers and closes ends the exchange.
    socket.end();
  });
}

/** Starts a request, sends `partial` of its body, then drops the connection without an answer. */
export async function abortedUpload(
  baseUrl: string,
  path: string,
  headers: Record<string, string | number>,
  partial: Buffer,
): Promise<void> {
  const url = new URL(baseUrl);
  await new Promise<void>((resolve) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, headers, agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(partial, () => req.destroy());
  });
}

export interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer | string;
}

/** A multipart/form-data body; `boundary` goes in the Content-Type. */
export function multipart(parts: Part[], boundary: string): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${
      part.filename === undefined ? '' : `; filename="${part.filename}"`
    }`;
    pieces.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: ${disposition}\r\ncontent-type: ${
          part.type ?? 'application/octet-stream'
        }\r\n\r\n`,
      ),
      Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data),
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

export interface HookRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1. Answers 204 unless `respond` says
 * otherwise; while `hold()` is on it keeps every request open until
 * `release()`.
 */
export async function startHookReceiver() {
  const requests: HookRequest[] = [];
  const held: ServerResponse[] = [];
  let holding = false;
  let respond: (hook: HookRequest, res: ServerResponse) => void = (_hook, res) => res.writeHead(204).end();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const hook = { path: req.url ?? '/', headers: req.headers, body };
      requests.push(hook);
      if (holding) held.push(res);
      else respond(hook, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Requests whose path (without the query) is `path`. */
    hits: (path: string) => requests.filter((r) => r.path.split('?')[0] === path),
    get held() {
      return held.length;
    },
    /** How to answer from now on (when not holding). */
    answer(fn: (hook: HookRequest, res: ServerResponse) => void) {
      respond = fn;
    },
    hold() {
      holding = true;
    },
    /** Answers every held request with `status` and stops holding. */
    release(status = 204) {
      holding = false;
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
    async stop() {
      holding = false;
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type HookReceiver = Awaited<ReturnType<typeof startHookReceiver>>;
