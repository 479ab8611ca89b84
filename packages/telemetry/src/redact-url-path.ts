/**
 * Path segments that name a collection whose next segment is an id, and the
 * template placeholder that replaces that id. They mirror the api's routes
 * (`/v1/pets/{petId}/photos`, `/v1/jobs/{jobId}`, ...).
 */
const ID_AFTER: ReadonlyMap<string, string> = new Map([
  ['pets', '{petId}'],
  ['jobs', '{jobId}'],
  ['photos', '{photoId}'],
  ['clusters', '{clusterId}'],
]);

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
 * never carry a raw pet, job or photo id: `/v1/pets/rex/photos?x=1` becomes
 * `/v1/pets/{petId}/photos`. The query string and fragment are always dropped
 * (callback URLs can carry secrets). Unknown paths keep their shape, with
 * id-like segments replaced by `{id}`.
 */
export function redactUrlPath(path: string | undefined): string {
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
    const template = ID_AFTER.get(segment);
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
