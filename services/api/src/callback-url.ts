import { ApiError } from './errors.js';

/**
 * Accepts a job's callbackUrl only for http(s) to a host listed in
 * CALLBACK_ALLOWED_HOSTS (exact `host` or `host:port`, case-insensitive), with
 * no credentials in it: the worker will POST there, so anything else is SSRF.
 */
export function checkCallbackUrl(raw: string, allowedHosts: readonly string[]): string {
  const refuse = (detail: string) => new ApiError('invalid_callback_url', detail);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('callbackUrl is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw refuse('callbackUrl must be http or https');
  if (url.username || url.password) throw refuse('callbackUrl must not carry credentials');
  const host = url.hostname.toLowerCase();
  const hostPort = url.host.toLowerCase();
  const allowed = allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === hostPort;
  });
  if (!allowed) throw refuse('callbackUrl host is not in the allowed list');
  return url.toString();
}
