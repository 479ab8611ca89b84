/**
 * The one rule for job callbacks, applied by the api at job creation and by
 * the worker again at delivery: http(s), no credentials, and a host listed in
 * `allowedHosts` as exact `host` or `host:port` (case-insensitive; IP
 * literals pass only when listed as such). Anything else would let a client
 * make the worker POST wherever it likes (SSRF).
 *
 * Returns why `raw` is refused, or undefined when it is allowed.
 */
export function callbackUrlProblem(raw: string, allowedHosts: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'callbackUrl is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'callbackUrl must be http or https';
  if (url.username || url.password) return 'callbackUrl must not carry credentials';
  const host = url.hostname.toLowerCase();
  const hostPort = url.host.toLowerCase();
  const allowed = allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === hostPort;
  });
  return allowed ? undefined : 'callbackUrl host is not in the allowed list';
}
