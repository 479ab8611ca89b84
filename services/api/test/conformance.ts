// Checks real HTTP answers against the OpenAPI document with a JSON Schema
// 2020-12 validator (ajv), the dialect OpenAPI 3.1 schemas are written in.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** One answer as it came off the wire. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

// biome-ignore lint/suspicious/noExplicitAny: walks an arbitrary JSON document
type Json = Record<string, any>;

const DOC_ID = 'urn:media-cluster:openapi';

/**
 * The formats the document uses, checked by ajv's own `formats` option (no
 * ajv-formats): zod also writes a `pattern` for uuid and date-time, so these
 * only add the calendar check and what a URL parser accepts.
 */
const FORMATS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'date-time': (value: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(value) &&
    !Number.isNaN(Date.parse(value)),
  uri: (value: string) => URL.canParse(value),
};

/** The top-level members of an OpenAPI document: not JSON Schema keywords, so ajv must know to skip them. */
const DOCUMENT_MEMBERS = [
  'openapi',
  'info',
  'servers',
  'paths',
  'components',
  'security',
  'tags',
  'webhooks',
];

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

/**
 * Validates answers against `document` and remembers which
 * `METHOD path status` each one was, so a test can check that every declared
 * answer was seen.
 */
export function createConformance(document: Json) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, formats: FORMATS });
  ajv.addVocabulary(DOCUMENT_MEMBERS);
  ajv.addSchema(document, DOC_ID);
  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (location: string) => {
    let validate = validators.get(location);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOC_ID}#/${location}` });
      validators.set(location, validate);
    }
    return validate;
  };
  const errorsOf = (validate: ValidateFunction) => ajv.errorsText(validate.errors, { separator: '; ' });
  const seen = new Set<string>();

  /** Problems with `answer` as an answer of `method path` (a path template); empty when it conforms. */
  function check(method: string, path: string, answer: Answer): string[] {
    const where = `${method.toUpperCase()} ${path} ${answer.status}`;
    const operation = document.paths[path]?.[method];
    if (!operation) return [`${where}: no such operation in the document`];
    const response = operation.responses[String(answer.status)];
    if (!response) return [`${where}: status not documented (${answer.text.slice(0, 200)})`];
    seen.add(where);
    const problems: string[] = [];

    const mediaType = String(answer.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (response.content) {
      if (!response.content[mediaType]) {
        problems.push(
          `${where}: content-type ${mediaType || '(none)'} is not one of ${Object.keys(response.content)}`,
        );
      } else {
        let body: unknown;
        try {
          body = JSON.parse(answer.text);
        } catch {
          problems.push(`${where}: body is not JSON: ${answer.text.slice(0, 200)}`);
        }
        const validate = validatorAt(
          pointer('paths', path, method, 'responses', String(answer.status), 'content', mediaType, 'schema'),
        );
        if (body !== undefined && !validate(body))
          problems.push(`${where}: body ${answer.text.slice(0, 300)}: ${errorsOf(validate)}`);
      }
    } else if (answer.text.length > 0) {
      problems.push(`${where}: a body where none is documented`);
    }

    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      const id = String(header.$ref).replace('#/components/headers/', '');
      const declared = document.components.headers[id];
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (declared.required) problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      const validate = validatorAt(pointer('components', 'headers', id, 'schema'));
      if (!validate(value))
        problems.push(`${where}: header ${name}: ${JSON.stringify(value)}: ${errorsOf(validate)}`);
    }
    return problems;
  }

  /** Every `METHOD path status` the document declares for an operation. */
  function declared(operationId: string): string[] {
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        if (operation.operationId === operationId)
          return Object.keys(operation.responses).map(
            (status) => `${method.toUpperCase()} ${path} ${status}`,
          );
      }
    }
    throw new Error(`no operation ${operationId}`);
  }

  return { check, declared, seen };
}

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One HTTP request to `baseUrl`, the answer read whole. */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, baseUrl),
      { method, headers: { ...options.headers }, agent: false, maxHeaderSize: 64 * 1024 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Raw bytes to `baseUrl`'s port (requests a client library would refuse to
 * send, or one that stops half-way), read until the server closes the
 * connection; the answer parsed as HTTP/1.1.
 */
export function sendRaw(baseUrl: string, bytes: string): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: rest.join('\r\n\r\n') });
    });
    socket.write(bytes);
  });
}
