import type { Server } from 'node:http';
import { createFsBlobStore, createPool, migrate } from '@media-cluster/db';
import { connectRedis, createProducer, queueNames } from '@media-cluster/queue';
import { METRIC_PREFIX, SECONDS_BUCKETS } from '@media-cluster/semconv';
import {
  createLogger,
  type MetricsServer,
  shutdownTelemetry,
  startMetricsServer,
  useRouteTemplates,
} from '@media-cluster/telemetry';
import { checkReadiness, createApp } from './app.js';
import { loadApiConfig } from './config.js';
import { clientErrorHandler } from './http/client-error.js';
import type { Logger } from './logger.js';
import { createApiMetrics, observeBacklog } from './metrics.js';
import { createBackpressure } from './overload/backpressure.js';
import { createRateLimiter, rateLimitsFromConfig } from './overload/rate-limiter.js';
import { ROUTE_TEMPLATES } from './routes/paths.js';

/**
 * The api process: config -> migrations -> listen; SIGTERM/SIGINT -> stop
 * accepting, let in-flight requests finish (up to SHUTDOWN_GRACE_MS), close
 * the producer, Redis and Postgres, then flush telemetry.
 */
export async function main(): Promise<void> {
  const config = loadApiConfig();
  // Before the first request: the server spans' url.path is the route template, never a raw id.
  useRouteTemplates(ROUTE_TEMPLATES);
  const logger = createLogger({ name: 'api', level: config.LOG_LEVEL });
  const db = createPool(config.DATABASE_URL, {
    max: 10,
    onIdleError: (error) => logger.warn({ err: error }, 'postgres idle client error'),
  });
  const onCluster = (config.REDIS_CLUSTER_NODES ?? []).length > 0;
  const redis = connectRedis(
    { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
    { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true },
  );
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));

  let server: Server | undefined;
  let metricsServer: MetricsServer | undefined;
  const names = queueNames(config.QUEUE_PREFIX, { shards: config.QUEUE_SHARDS });
  const producer = createProducer({
    redis,
    names,
    // On a cluster the 202 waits (up to 100 ms) until a replica has the job, so a
    // failover right after it cannot lose it (WAIT 1).
    replicas: onCluster ? 1 : 0,
    logger,
    metrics: { prefix: METRIC_PREFIX, secondsBuckets: SECONDS_BUCKETS },
  });
  const backpressure = createBackpressure({
    redis,
    names,
    ceiling: config.JOB_BACKLOG_CEILING,
    cacheMs: config.BACKLOG_CACHE_MS,
    logger,
  });
  const stopObservingBacklog = observeBacklog(backpressure);

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ event: 'shutdown', signal }, 'shutting down');
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['http server', () => closeServer(server, config.SHUTDOWN_GRACE_MS)],
        ['metrics server', async () => metricsServer?.close()],
        ['backlog gauges', async () => stopObservingBacklog()],
        ['producer', () => producer.close()],
        ['redis', () => redis.quit().catch(() => redis.disconnect())],
        ['postgres', () => db.end()],
      ];
      // Every step runs even when an earlier one fails.
      for (const [name, step] of steps) {
        await step().catch((error: unknown) =>
          logger.error({ err: error, step: name }, 'shutdown step failed'),
        );
      }
      logger.info({ event: 'shutdown_complete' }, 'stopped');
      await shutdownTelemetry();
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void stop('SIGTERM').finally(() => process.exit(0)));
  process.once('SIGINT', () => void stop('SIGINT').finally(() => process.exit(0)));

  try {
    await redis.connect();
    const migrated = await migrate(db, { logger });
    logger.info(
      { event: 'migrations', applied: migrated.applied, current: migrated.current },
      'schema ready',
    );
    const deps = {
      config,
      db,
      redis,
      producer,
      blobs: createFsBlobStore({ dir: config.PHOTO_DIR }),
      logger,
      metrics: createApiMetrics(),
      rateLimiter: createRateLimiter({
        redis,
        prefix: config.QUEUE_PREFIX,
        limits: rateLimitsFromConfig(config),
        logger,
      }),
      backpressure,
    };
    const app = createApp(deps);
    metricsServer = await startMetricsServer({
      port: config.METRICS_PORT,
      host: config.HOST,
      token: config.METRICS_TOKEN,
      ready: async () => {
        const readiness = await checkReadiness(deps);
        return { ok: readiness.ready, checks: readiness.checks };
      },
    });
    server = await listen(app, config.PORT, config.HOST, logger);
    logger.info(
      { event: 'listening', host: config.HOST, port: config.PORT, metrics_port: metricsServer.port },
      `api listening on ${config.HOST}:${config.PORT}`,
    );
  } catch (error) {
    await stop('startup_failed');
    throw error;
  }
}

function listen(
  app: ReturnType<typeof createApp>,
  port: number,
  host: string,
  logger: Logger,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    // Requests the HTTP parser refuses get problem+json too, not Node's bare text.
    server.on('clientError', clientErrorHandler(logger));
    // Slow clients cannot hold a socket forever: whole request 5 min, headers 30 s.
    server.requestTimeout = 300_000;
    server.headersTimeout = 30_000;
  });
}

/** Stops accepting, waits for in-flight requests, then drops what is left after `graceMs`. */
function closeServer(server: Server | undefined, graceMs: number): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    // Keep-alive sockets go idle as their last response ends; close them then, or they hold close() open.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    timer.unref();
    sweep.unref();
    server.close(() => {
      clearTimeout(timer);
      clearInterval(sweep);
      resolve();
    });
  });
}
