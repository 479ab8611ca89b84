import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { problemBody } from './problem.js';

/** After answering, keep reading (and discarding) this long so the answer is not lost to a TCP reset: 2 s. */
const LINGER_MS = 2_000;

/** Node's parser error codes -> our codes (the same statuses Node's default answer uses). */
function codeOf(error: NodeJS.ErrnoException): ErrorCode {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'payload_too_large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    default:
      return 'bad_request';
  }
}

/**
 * The server's `clientError` listener: a request Node's parser refuses
 * (headers over 16 KB, a garbled request line, conflicting lengths, a bad
 * chunk) gets a problem+json answer like every other 4xx instead of Node's
 * bare text one, and an info log line naming the parser code only (the raw
 * bytes may hold a key). The socket is half-closed and drained for a moment
 * before it is dropped, so a client still sending its oversized headers reads
 * the answer instead of a reset.
 */
export function clientErrorHandler(logger: Logger) {
  const answered = new WeakSet<Duplex>();
  return (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The parser reports every later chunk of an answered socket again.
    if (answered.has(socket)) return;
    answered.add(socket);
    // Node's own rule: never write into a response that has already started.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const problem = new ApiError(codeOf(error));
    const { code, status, message: title } = problem;
    logger.info({ event: 'http_client_error', code, status, parser_code: error.code }, title);
    const body = JSON.stringify(problemBody(problem));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/problem+json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
    socket.on('error', () => {});
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
