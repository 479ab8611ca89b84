import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  defaultResource,
  envDetector,
  hostDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** semconv's `service.instance.id` (incubating, so not taken from the stable entry point). */
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

/**
 * service.instance.id = the host name: one per replica (a container's or pod's
 * host name), and the same after a process restart, so metric series (instance
 * label) do not start over each time the supervisor restarts a process. Several
 * processes of one service on one host must set their own in
 * OTEL_RESOURCE_ATTRIBUTES (e.g. `service.instance.id=worker-2`).
 */
const stableInstanceIdDetector: ResourceDetector = {
  detect: () => ({ attributes: { [ATTR_SERVICE_INSTANCE_ID]: hostname() } }),
};

interface PackageInfo {
  name?: string;
  version?: string;
}

/** The package.json nearest to the main script (the service being run). */
function mainPackage(script: string | undefined): PackageInfo {
  if (!script) return {};
  let dir = dirname(resolve(script));
  for (let i = 0; i < 8; i++) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageInfo;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return {};
}

/**
 * The base resource: service.name and service.version from the service's
 * package.json (`@media-cluster/api` -> `media-cluster-api`), used only where
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES do not say otherwise.
 */
export function baseResource(script: string | undefined = process.argv[1]): Resource {
  const pkg = mainPackage(script);
  const attributes: Record<string, string> = {};
  if (pkg.name) attributes[ATTR_SERVICE_NAME] = pkg.name.replace(/^@/, '').replace(/\//g, '-');
  if (pkg.version) attributes[ATTR_SERVICE_VERSION] = pkg.version;
  return defaultResource().merge(resourceFromAttributes(attributes));
}

/**
 * Detectors in merge order (a later one wins): service.instance.id (the host
 * name, stable per replica), process and host facts, then the OTEL_SERVICE_NAME /
 * OTEL_RESOURCE_ATTRIBUTES variables, which override everything.
 */
export const resourceDetectors: ResourceDetector[] = [
  stableInstanceIdDetector,
  processDetector,
  hostDetector,
  envDetector,
];
