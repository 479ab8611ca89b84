import { z } from 'zod';
import { CATALOGUE, type ErrorCode, problemType } from '../errors.js';
import {
  COMMON_RESPONSE_HEADERS,
  EVERY_OPERATION,
  type HeaderSpec,
  OPERATIONS,
  type Operation,
  PARSER_CODES,
  PROBLEM_HEADERS,
  type ResponseSpec,
} from './operations.js';
import { contract, Problem } from './schemas.js';

type Json = Record<string, unknown>;

/** OpenAPI version of the document, and the API's own version. */
export const OPENAPI_VERSION = '3.1.1';
export const API_VERSION = '1.0.0';

const COMPONENTS = '#/components/schemas/';

/**
 * The OpenAPI 3.1 document of the API, from the zod schemas in schemas.ts and
 * the operation table in operations.ts. zod 4 writes JSON Schema 2020-12, the
 * dialect OpenAPI 3.1 uses, so schemas go in as they are; this only lays out
 * paths, parameters, answers and components. Deterministic: the same code
 * gives the same bytes (docs/openapi.json is checked against it).
 */
export function buildOpenApiDocument(): Json {
  const { schemas } = z.toJSONSchema(contract, {
    target: 'draft-2020-12',
    metadata: contract,
    unrepresentable: 'throw',
    uri: (id) => `${COMPONENTS}${id}`,
  });
  const components: Json = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // The document sets the dialect; a fragment-only $id is not a valid 2020-12 $id.
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    components[id] = rest;
  }

  const headers = new HeaderComponents();
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) paths[op.path] = { ...paths[op.path], [op.method]: operation(op, headers) };

  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'media-cluster API',
      version: API_VERSION,
      description:
        'Upload photos of a pet, cluster them (similar shots grouped, a hero picked per group) and read the result. JSON everywhere; every error is RFC 9457 application/problem+json with a stable `type`. Every answer carries X-Request-Id and, when traced, `traceresponse`.',
    },
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key from the server’s API_KEYS. A pet belongs to the owner who first uploaded for it and is invisible (404) to other keys.',
        },
      },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      headers: headers.components,
    },
  };
}

/** The document as served and committed: 2-space JSON and a final newline. */
export function renderOpenApiDocument(document: Json = buildOpenApiDocument()): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

function operation(op: Operation, headers: HeaderComponents): Json {
  const parameters = [
    ...Object.entries(op.pathParams ?? {}).map(([name, schema]) => ({
      name,
      in: 'path',
      required: true,
      schema: ref(schema),
    })),
    ...Object.entries(op.requestHeaders ?? {}).map(([name, header]) => ({
      name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: schemaOf(header.schema),
    })),
  ];
  const responses: Record<string, Json> = {};
  const merged: Record<number, ResponseSpec> = { ...op.responses };
  for (const code of EVERY_OPERATION) {
    const status = CATALOGUE[code].status;
    const existing = merged[status];
    if (existing && !('problems' in existing))
      throw new Error(`${op.operationId}: ${status} is both a problem (${code}) and a JSON answer`);
    const codes = existing?.problems ?? [];
    merged[status] = { problems: codes.includes(code) ? codes : [...codes, code] };
  }
  for (const [status, spec] of Object.entries(merged))
    responses[status] = response(Number(status), spec, headers);
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.auth ? {} : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.requestBody
      ? {
          requestBody: {
            required: op.requestBody.required,
            content: { [op.requestBody.contentType]: { schema: ref(op.requestBody.schema) } },
          },
        }
      : {}),
    responses,
  };
}

function response(status: number, spec: ResponseSpec, components: HeaderComponents): Json {
  if ('problems' in spec) return problemResponse(status, spec.problems, components);
  const headers = components.refs({ ...COMMON_RESPONSE_HEADERS, ...spec.headers });
  if ('empty' in spec) return { description: spec.description, headers };
  return {
    description: spec.description,
    headers,
    content: { 'application/json': { schema: ref(spec.json) } },
  };
}

/** One status of problems: the Problem schema, narrowed to these codes. */
function problemResponse(status: number, codes: ErrorCode[], components: HeaderComponents): Json {
  const fromParser = codes.some((code) => PARSER_CODES.includes(code));
  const headers: Record<string, HeaderSpec> = {
    ...COMMON_RESPONSE_HEADERS,
    'X-Request-Id': { ...COMMON_RESPONSE_HEADERS['X-Request-Id']!, required: !fromParser },
  };
  // A header a code always sends is required when every code of the status sends it.
  for (const code of codes) {
    for (const [name, header] of Object.entries(PROBLEM_HEADERS[code] ?? {})) {
      const always = codes.every((c) => PROBLEM_HEADERS[c]?.[name] !== undefined);
      headers[name] = { ...header, required: (header.required ?? false) && always };
    }
  }
  return {
    description: codes.map((code) => `\`${code}\`: ${CATALOGUE[code].title}.`).join(' '),
    headers: components.refs(headers),
    content: {
      'application/problem+json': {
        schema: {
          allOf: [
            ref(Problem),
            {
              type: 'object',
              properties: {
                type: { enum: codes.map(problemType) },
                status: { const: status },
                code: { enum: codes },
              },
            },
          ],
        },
      },
    },
  };
}

/** Response headers, each written once under components.headers and referred to by name. */
class HeaderComponents {
  readonly components: Record<string, Json> = {};
  readonly #names = new Map<string, string>();

  refs(headers: Record<string, HeaderSpec>): Json {
    return Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, this.#ref(name, h)]));
  }

  #ref(name: string, h: HeaderSpec): Json {
    const header = { description: h.description, required: h.required ?? false, schema: schemaOf(h.schema) };
    const key = JSON.stringify([name, header]);
    let id = this.#names.get(key);
    if (!id) {
      id = header.required ? name : `${name}.optional`;
      for (let n = 2; id in this.components; n++) id = `${name}.${n}`;
      this.components[id] = header;
      this.#names.set(key, id);
    }
    return { $ref: `#/components/headers/${id}` };
  }
}

/** `$ref` to a component: every schema an operation names must be registered with an id. */
function ref(schema: z.ZodType): Json {
  const id = contract.get(schema)?.id;
  if (!id) throw new Error('a schema used by an operation is not a component (give it an id in schemas.ts)');
  return { $ref: `${COMPONENTS}${id}` };
}

/** A small schema (headers) written inline. */
function schemaOf(schema: z.ZodType): Json {
  const id = contract.get(schema)?.id;
  if (id) return { $ref: `${COMPONENTS}${id}` };
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    metadata: contract,
    unrepresentable: 'throw',
  }) as Json;
  if ('$defs' in rest) throw new Error('an inline header schema refers to components');
  return rest;
}
