import { describe, expect, it } from 'vitest';
import { redactUrlPath } from '../src/index.js';

describe('redactUrlPath', () => {
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
});
