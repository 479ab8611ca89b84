import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { addressProblem, callbackUrlProblem, effectivePort, formatIp, parseIp } from '@media-cluster/config';
import { type ResolvedAddress, type ResolveHost, systemResolver } from './resolve-host.js';

export interface WebhookBody {
  jobId: string;
  status: string;
  clustersUrl: string;
}

export interface WebhookOptions {
  allowedHosts: readonly string[];
  /**
   * Per attempt, all of it: resolving the host, connecting, sending, and the
   * whole answer. A receiver that answers a byte at a time is cut off here too.
   */
  timeoutMs: number;
  maxAttempts: number;
  /** Backoff before retry n is `baseDelayMs * 2^(n-1)`. @defaultValue 200 ms */
  baseDelayMs?: number;
  /** Turns the callback's host name into addresses. @defaultValue the system resolver (getaddrinfo) */
  resolve?: ResolveHost;
}

export type FailureReason = 'timeout' | 'http_status' | 'network' | 'refused';

export type WebhookResult =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; reason: FailureReason; detail: string };

/** The api's callback rule, checked again at delivery (`callbackUrlProblem`). */
export function isAllowedCallback(url: string, allowedHosts: readonly string[]): boolean {
  return callbackUrlProblem(url, allowedHosts) === undefined;
}

type Attempt =
  | { ok: true; status: number }
  | { ok: false; reason: Exclude<FailureReason, 'http_status'>; detail: string }
  | { ok: false; reason: 'http_status'; detail: string; status: number };

/** A 4xx other than 408 (timeout) and 429 (rate limit) will not get better by retrying. */
function isFinalStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

class DeadlineError extends Error {}

/** `promise`, or DeadlineError once `signal` aborts. */
function before<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DeadlineError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DeadlineError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The address to connect to: the URL's IP literal, or the first address its
 * host resolves to that `addressProblem` allows. Resolved once per attempt;
 * the connection then goes to exactly this address (no second lookup that a
 * DNS answer could change in between).
 */
async function pickAddress(
  url: URL,
  allowedHosts: readonly string[],
  resolve: ResolveHost,
  signal: AbortSignal,
): Promise<ResolvedAddress | { refused: string }> {
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = isIP(bare) !== 0;
  let candidates: ResolvedAddress[];
  try {
    candidates = literal
      ? [{ address: bare, family: bare.includes(':') ? 6 : 4 }]
      : await before(resolve(bare), signal);
  } catch (error) {
    if (error instanceof DeadlineError) throw error;
    throw new Error(`could not resolve ${bare}: ${(error as Error).message}`, { cause: error });
  }
  const port = effectivePort(url);
  let firstProblem: string | undefined;
  for (const candidate of candidates) {
    const problem = addressProblem(candidate.address, port, allowedHosts);
    if (problem === undefined) {
      // An IPv4-mapped answer (::ffff:a.b.c.d) is that IPv4 address: connect to it as such.
      const address = formatIp(parseIp(candidate.address)!);
      return isIP(address) === 4 ? { address, family: 4 } : candidate;
    }
    firstProblem ??= problem;
  }
  return { refused: firstProblem ?? `${bare} resolved to no address` };
}

/** A `lookup` that answers with the address already checked, whatever is asked. */
function pinnedLookup(target: ResolvedAddress): LookupFunction {
  return ((_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as LookupFunction;
}

/**
 * One POST through node:http, so the http instrumentation makes the CLIENT
 * span and injects `traceparent`/`tracestate` of the job's trace. Redirects
 * are never followed (a 3xx is a failure): following one could leave the
 * allow-list.
 */
function post(url: URL, payload: string, target: ResolvedAddress, signal: AbortSignal): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onDeadline);
      resolve(attempt);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        lookup: pinnedLookup(target),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () =>
          settle(
            status >= 200 && status < 300
              ? { ok: true, status }
              : { ok: false, reason: 'http_status', detail: `HTTP ${status}`, status },
          ),
        );
        res.on('error', (e) => settle({ ok: false, reason: 'network', detail: e.message }));
      },
    );
    const onDeadline = () => {
      settle({ ok: false, reason: 'timeout', detail: 'no complete answer in time' });
      req.destroy();
    };
    if (signal.aborted) onDeadline();
    else signal.addEventListener('abort', onDeadline, { once: true });
    req.on('error', (e) => settle({ ok: false, reason: 'network', detail: e.message }));
    req.end(payload);
  });
}

async function attemptOnce(url: URL, payload: string, options: WebhookOptions): Promise<Attempt> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  try {
    const target = await pickAddress(
      url,
      options.allowedHosts,
      options.resolve ?? systemResolver,
      deadline.signal,
    );
    if ('refused' in target) return { ok: false, reason: 'refused', detail: target.refused };
    const result = await post(url, payload, target, deadline.signal);
    return result.ok || result.reason !== 'timeout'
      ? result
      : { ...result, detail: `no complete answer within ${options.timeoutMs} ms` };
  } catch (error) {
    if (error instanceof DeadlineError)
      return { ok: false, reason: 'timeout', detail: `no address within ${options.timeoutMs} ms` };
    return { ok: false, reason: 'network', detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * POSTs `body` to `callbackUrl`: the allow-list rule first, then per attempt
 * the host's addresses checked (no loopback, private, link-local or other
 * non-public address unless the allow-list names it) and the connection made
 * to the checked one, within one deadline; bounded retries. Never throws.
 */
export async function deliverWebhook(
  callbackUrl: string,
  body: WebhookBody,
  options: WebhookOptions,
): Promise<WebhookResult> {
  const problem = callbackUrlProblem(callbackUrl, options.allowedHosts);
  if (problem) return { delivered: false, attempts: 0, reason: 'refused', detail: problem };
  const url = new URL(callbackUrl);
  const payload = JSON.stringify(body);
  const baseDelayMs = options.baseDelayMs ?? 200;
  let last: Attempt = { ok: false, reason: 'network', detail: 'not attempted' };
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    last = await attemptOnce(url, payload, options);
    if (last.ok) return { delivered: true, attempts: attempt, status: last.status };
    // A refused address will not get better by retrying (and was never sent anything).
    if (last.reason === 'refused')
      return { delivered: false, attempts: attempt - 1, reason: last.reason, detail: last.detail };
    // Nor will a 4xx other than 408/429.
    if (last.reason === 'http_status' && isFinalStatus(last.status)) {
      return { delivered: false, attempts: attempt, reason: last.reason, detail: last.detail };
    }
    if (attempt < options.maxAttempts)
      await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
  }
  const failure = last as Extract<Attempt, { ok: false }>;
  return { delivered: false, attempts: options.maxAttempts, reason: failure.reason, detail: failure.detail };
}
