import express, { type Express, type Request } from 'express';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { admitJob } from './http/admit-job.js';
import { apiKeyAuth } from './http/auth.js';
import { errorHandler } from './http/error-handler.js';
import { jsonBody } from './http/json-body.js';
import { requestContext } from './http/request-context.js';
import { createApiMetrics } from './metrics.js';
import { getPetClusters } from './routes/clusters.js';
import { health, ready } from './routes/health.js';
import { createClusteringJob, getClusteringJob } from './routes/jobs.js';
import { openApiDocument } from './routes/openapi.js';
import { PATHS } from './routes/paths.js';
import { uploadPhotos } from './routes/photos.js';

export type { AppDeps, JobProducer, RedisPinger } from './deps.js';
export { checkReadiness, type Readiness } from './routes/health.js';

/**
 * Builds the HTTP API without listening. The routes are the operations of
 * src/contract/operations.ts, documented in docs/openapi.json (also served at
 * /v1/openapi.json); test/openapi.test.ts checks that the two match.
 */
export function createApp(deps: AppDeps): Express {
  const metrics = deps.metrics ?? createApiMetrics();
  const authenticate = apiKeyAuth({ keys: deps.config.API_KEYS, metrics, limiter: deps.rateLimiter });
  const auth = authenticate();
  const app = express();
  app.disable('x-powered-by');
  // ETags only where we define them (job status), never express's automatic ones.
  app.set('etag', false);
  app.set('query parser', 'simple');
  // The client address failed authentications count against (req.ip).
  const trustProxy = deps.config.TRUST_PROXY;
  // A copy: proxy-addr expands `loopback` etc. in place, and the config is frozen.
  if (trustProxy !== undefined)
    app.set('trust proxy', typeof trustProxy === 'number' ? trustProxy : [...trustProxy]);

  app.use(requestContext(deps.logger));

  app.get(PATHS.health, health());
  app.get(PATHS.ready, ready(deps));
  app.get(PATHS.openapi, openApiDocument());

  // Reads, /health and /ready are never shed: only writes meet the owner limits and the backlog ceiling.
  app.post(PATHS.photos, authenticate('uploads'), uploadPhotos(deps, metrics));
  app.post(
    PATHS.clusteringJobs,
    authenticate('jobs'),
    admitJob(deps.backpressure, metrics),
    jsonBody(deps.config.MAX_JSON_BYTES),
    createClusteringJob(deps, metrics),
  );
  app.get(PATHS.clusters, auth, getPetClusters(deps, metrics));
  app.get(PATHS.job, auth, getClusteringJob(deps, metrics));

  app.use((req: Request) => {
    throw new ApiError('not_found', `No route for ${req.method} of this path`);
  });
  app.use(errorHandler(deps.logger));
  return app;
}
