import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRouteTemplates, redactUrlPath, useRouteTemplates } from '../src/index.js';

// The api's routes, as it registers them at start-up (services/api/src/routes/paths.ts).
const API_ROUTES = [
  '/v1/pets/:petId/photos',
  '/v1/pets/:petId/clustering-jobs',
  '/v1/pets/:petId/clusters',
  '/v1/jobs/:jobId',
  '/v1/pets/{petId}/photos/{photoId}',
];

describe('redactUrlPath', () => {
  beforeAll(() => useRouteTemplates(API_ROUTES));
  afterAll(() => useRouteTemplates([]));

  it.each([
    ['/v1/pets/rex/photos', '/v1/pets/{petId}/photos'],
    ['/v1/pets/rex/clustering-jobs', '/v1/pets/{petId}/clustering-jobs'],
    ['/v1/pets/rex/clusters', '/v1/pets/{petId}/clusters'],
    ['/v1/jobs/0f8fad5b-d9cb-469f-a165-70867728950e', '/v1/jobs/{jobId}'],
    ['/v1/pets/photos/photos', '/v1/pets/{petId}/photos'],
    ['/v1/pets/rex/photos/ph_123', '/v1/pets/{petId}/photos/{photoId}'],
    ['/v1/pets/%F0%9F%90%B6/photos', '/v1/pets/{petId}/photos'],
    ['/v1/pets/rex/photos/', '/v1/pets/{petId}/photos/'],
    ['/v1/pets', '/v1/pets'],
    ['/v1/pets/', '/v1/pets/'],
    ['/health', '/health'],
    ['/', '/'],
    ['', '/'],
    ['/unknown/12345/x', '/unknown/{id}/x'],
    ['/files/0f8fad5b-d9cb-469f-a165-70867728950e', '/files/{id}'],
    ['/hooks/a1b2c3d4e5f6a7b8c9d0', '/hooks/{id}'],
    ['/some-long-route-name-here', '/some-long-route-name-here'],
  ])('%s -> %s', (path, expected) => {
    expect(redactUrlPath(path)).toBe(expected);
  });

  it('drops the query string and fragment', () => {
    expect(redactUrlPath('/v1/jobs/j1?callback=https://x/?token=abc')).toBe('/v1/jobs/{jobId}');
    expect(redactUrlPath('/health?verbose=1')).toBe('/health');
    expect(redactUrlPath('/docs#secret')).toBe('/docs');
    expect(redactUrlPath(undefined)).toBe('/');
  });

  it('does not trip over object prototype names', () => {
    expect(redactUrlPath('/constructor/x')).toBe('/constructor/x');
    expect(redactUrlPath('/__proto__/x')).toBe('/__proto__/x');
  });

  it('caps very long paths', () => {
    expect(redactUrlPath(`/${'a'.repeat(1000)}`).length).toBe(256);
  });

  it('knows no route names of its own: without routes only id-like segments go', () => {
    const none = compileRouteTemplates([]);
    expect(redactUrlPath('/v1/pets/rex/photos', none)).toBe('/v1/pets/rex/photos');
    expect(redactUrlPath('/v1/jobs/0f8fad5b-d9cb-469f-a165-70867728950e', none)).toBe('/v1/jobs/{id}');
    const other = compileRouteTemplates(['/v2/owners/{ownerId}']);
    expect(redactUrlPath('/v2/owners/alice', other)).toBe('/v2/owners/{ownerId}');
  });

  it("refuses routes that name one collection's id two ways", () => {
    expect(() => compileRouteTemplates(['/pets/:petId', '/pets/:id/x'])).toThrow(/pets/);
  });
});
