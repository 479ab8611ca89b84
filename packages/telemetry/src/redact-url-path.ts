import { telemetryState } from './state.js';

/**
 * A compiled list of route templates: for each collection segment that a
 * parameter follows in some route (`pets` in `/v1/pets/:petId/photos`), the
 * placeholder that replaces the segment after it (`{petId}`).
 */
export type RouteTemplates = ReadonlyMap<string, string>;

const PARAMETER = /^(?::([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/;

/**
 * Compiles route templates (express `/v1/pets/:petId/photos` or OpenAPI
 * `/v1/pets/{petId}/photos`) for {@link redactUrlPath}. Throws when two
 * routes name the parameter after one collection differently (the redacted
 * path would depend on which route matched).
 */
export function compileRouteTemplates(templates: readonly string[]): RouteTemplates {
  const idAfter = new Map<string, string>();
  for (const template of templates) {
    const segments = template.split('/');
    for (let i = 1; i < segments.length; i++) {
      const match = PARAMETER.exec(segments[i] as string);
      const collection = segments[i - 1];
      if (!match || !collection || PARAMETER.test(collection)) continue;
      const placeholder = `{${match[1] ?? match[2]}}`;
      const known = idAfter.get(collection);
      if (known !== undefined && known !== placeholder) {
        throw new Error(`route templates name the id after "${collection}" both ${known} and ${placeholder}`);
      }
      idAfter.set(collection, placeholder);
    }
  }
  return idAfter;
}

/**
 * Tells the URL redaction of this process's spans which routes it serves, so
 * their ids become the route's placeholders (the api calls it at start-up
 * with its route list). Until then, and in a process that serves no routes,
 * only id-like segments are replaced.
 */
export function useRouteTemplates(templates: readonly string[]): void {
  telemetryState().routeTemplates = compileRouteTemplates(templates);
}

const NO_ROUTES: RouteTemplates = new Map();

/**
 * Segments that look like generated ids anywhere in a path: numbers, uuids,
 * and long hex/base32/base64url tokens with at least one digit (so long route
 * words such as `clustering-jobs` stay).
 */
const ID_LIKE =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[^/]*\d)[0-9a-z_-]{16,})$/i;

/** Longest path kept: anything longer is cut, attributes stay small. */
const MAX_PATH_LENGTH = 256;

/**
 * Turns a request path into its route template so span names and `url.path`
 * never carry a raw pet, job or photo id: with the api's routes,
 * `/v1/pets/rex/photos?x=1` becomes `/v1/pets/{petId}/photos`. The query
 * string and fragment are always dropped (callback URLs can carry secrets).
 * Other paths keep their shape, with id-like segments replaced by `{id}`.
 *
 * @param routes - @defaultValue the templates given to {@link useRouteTemplates}
 */
export function redactUrlPath(
  path: string | undefined,
  routes: RouteTemplates = telemetryState().routeTemplates ?? NO_ROUTES,
): string {
  if (!path) return '/';
  let end = path.length;
  const query = path.indexOf('?');
  if (query !== -1) end = query;
  const hash = path.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  const bare = end === path.length ? path : path.slice(0, end);
  const segments = bare.split('/');
  let changed = bare.length !== path.length;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '') continue;
    const template = routes.get(segment);
    const next = segments[i + 1];
    if (template !== undefined && next) {
      // Routes alternate collection/id, so the segment after a collection is
      // an id whatever it looks like (a pet may well be called "photos").
      if (next !== template) {
        segments[i + 1] = template;
        changed = true;
      }
      i += 1;
    } else if (ID_LIKE.test(segment)) {
      segments[i] = '{id}';
      changed = true;
    }
  }
  const result = changed ? segments.join('/') : bare;
  return result.length > MAX_PATH_LENGTH ? result.slice(0, MAX_PATH_LENGTH) : result;
}
