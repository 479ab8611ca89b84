import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { callbackUrlProblem } from '@media-cluster/config';

export interface WebhookBody {
  jobId: string;
  status: string;
  clustersUrl: string;
}

export interface WebhookOptions {
  allowedHosts: readonly string[];
  /** Per attempt. */
  timeoutMs: number;
  maxAttempts: number;
  /** Backoff before retry n is `baseDelayMs * 2^(n-1)`. @defaultValue 200 ms */
  baseDelayMs?: number;
}

export type WebhookResult =
  | { delivered: true; attempts: number; status: number }
  | {
      delivered: false;
      attempts: number;
      reason: 'timeout' | 'http_status' | 'network' | 'refused';
      detail: string;
    };

/** The api's callback rule, checked again at delivery (`callbackUrlProblem`). */
export function isAllowedCallback(url: string, allowedHosts: readonly string[]): boolean {
  return callbackUrlProblem(url, allowedHosts) === undefined;
}

type Attempt =
  | { ok: true; status: number }
  | { ok: false; reason: 'timeout' | 'network'; detail: string }
  | { ok: false; reason: 'http_status'; detail: string; status: number };

/** A 4xx other than 408 (timeout) and 429 (rate limit) will not get better by retrying. */
function isFinalStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * One POST through node:http, so the http instrumentation makes the CLIENT
 * span and injects `traceparent`/`tracestate` of the job's trace. Redirects
 * are never followed (a 3xx is a failure): following one could leave the
 * allow-list.
 */
function postOnce(url: URL, payload: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () =>
          resolve(
            status >= 200 && status < 300
              ? { ok: true, status }
              : { ok: false, reason: 'http_status', detail: `HTTP ${status}`, status },
          ),
        );
        res.on('error', (e) => resolve({ ok: false, reason: 'network', detail: e.message }));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, reason: 'timeout', detail: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (e) => resolve({ ok: false, reason: 'network', detail: e.message }));
    req.end(payload);
  });
}

/** POSTs `body` to `callbackUrl` with a timeout and bounded retries; never throws. */
export async function deliverWebhook(
  callbackUrl: string,
  body: WebhookBody,
  options: WebhookOptions,
): Promise<WebhookResult> {
  if (!isAllowedCallback(callbackUrl, options.allowedHosts)) {
    return { delivered: false, attempts: 0, reason: 'refused', detail: 'host not in CALLBACK_ALLOWED_HOSTS' };
  }
  const url = new URL(callbackUrl);
  const payload = JSON.stringify(body);
  const baseDelayMs = options.baseDelayMs ?? 200;
  let last: Attempt = { ok: false, reason: 'network', detail: 'not attempted' };
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    last = await postOnce(url, payload, options.timeoutMs);
    if (last.ok) return { delivered: true, attempts: attempt, status: last.status };
    if (last.reason === 'http_status' && isFinalStatus(last.status)) {
      return { delivered: false, attempts: attempt, reason: last.reason, detail: last.detail };
    }
    if (attempt < options.maxAttempts)
      await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
  }
  const failure = last as Extract<Attempt, { ok: false }>;
  return { delivered: false, attempts: options.maxAttempts, reason: failure.reason, detail: failure.detail };
}
