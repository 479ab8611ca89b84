import type { Request, Response } from 'express';
import { renderOpenApiDocument } from '../contract/openapi.js';

let rendered: string | undefined;

/** GET /v1/openapi.json: the API's OpenAPI 3.1 document, open to anyone (it holds no data). */
export function openApiDocument() {
  return (_req: Request, res: Response) => {
    rendered ??= renderOpenApiDocument();
    res.setHeader('cache-control', 'no-cache');
    res.type('application/json').send(rendered);
  };
}
