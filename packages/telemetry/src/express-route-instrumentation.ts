import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import {
  InstrumentationBase,
  type InstrumentationConfig,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';

interface RouteLike {
  path?: unknown;
}
interface ExpressRequestLike {
  baseUrl?: string;
}
type Dispatch = (this: RouteLike, req: ExpressRequestLike, ...rest: unknown[]) => unknown;
interface ExpressModule {
  Route?: { prototype: { dispatch: Dispatch } };
}

/**
 * Names HTTP server spans (and the `http.route` of the request duration
 * metric) after the matched express route template, and does nothing else.
 *
 * The upstream express instrumentation wraps every layer of every router,
 * keeps a stack of layer paths on each request and starts a span per request
 * handler: the span duplicates the HTTP server span it sits under, and the
 * wrapping costs on every middleware of every request. This wraps one
 * function, `Route.prototype.dispatch`, which runs once per matched route,
 * and writes the template into the RPC metadata the http instrumentation
 * reads when the response ends (`GET /v1/jobs/:jobId`, never the raw path).
 */
export class ExpressRouteInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super('@media-cluster/telemetry/express-route', '0.1.0', config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'express',
        ['>=4.0.0 <6'],
        (moduleExports: ExpressModule) => {
          const proto = moduleExports?.Route?.prototype;
          if (proto && typeof proto.dispatch === 'function') {
            if (isWrapped(proto.dispatch)) this._unwrap(proto, 'dispatch');
            this._wrap(proto, 'dispatch', recordRoute);
          }
          return moduleExports;
        },
        (moduleExports: ExpressModule) => {
          const proto = moduleExports?.Route?.prototype;
          if (proto) this._unwrap(proto, 'dispatch');
        },
      ),
    ];
  }
}

function recordRoute(original: Dispatch): Dispatch {
  return function dispatch(this: RouteLike, req, ...rest) {
    const path = this.path;
    if (typeof path === 'string') {
      const metadata = getRPCMetadata(context.active());
      // Mounted routers: the mount path is in baseUrl while the route runs.
      if (metadata?.type === RPCType.HTTP) metadata.route = `${req.baseUrl ?? ''}${path}`;
    }
    return original.call(this, req, ...rest);
  };
}
