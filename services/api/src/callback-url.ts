import { callbackUrlProblem } from '@media-cluster/config';
import { ApiError } from './errors.js';

/**
 * Accepts a job's callbackUrl only under the shared callback rule
 * (`callbackUrlProblem`: http(s), no credentials, a host in
 * CALLBACK_ALLOWED_HOSTS); returns it normalized.
 *
 * @throws ApiError `invalid_callback_url` naming what is wrong.
 */
export function checkCallbackUrl(raw: string, allowedHosts: readonly string[]): string {
  const problem = callbackUrlProblem(raw, allowedHosts);
  if (problem) throw new ApiError('invalid_callback_url', problem);
  return new URL(raw).toString();
}
