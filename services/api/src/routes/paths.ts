/**
 * The api's routes, once: the express app mounts these paths, and the
 * telemetry's URL redaction learns from them which segment is an id
 * (`useRouteTemplates` in main.ts), so spans never carry a raw pet or job id.
 */
export const PATHS = Object.freeze({
  health: '/health',
  ready: '/ready',
  openapi: '/v1/openapi.json',
  photos: '/v1/pets/:petId/photos',
  clusteringJobs: '/v1/pets/:petId/clustering-jobs',
  clusters: '/v1/pets/:petId/clusters',
  job: '/v1/jobs/:jobId',
});

export const ROUTE_TEMPLATES: readonly string[] = Object.values(PATHS);
