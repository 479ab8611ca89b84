import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { TelemetryError } from './errors.js';
import { withPrometheusNames } from './prometheus-names.js';
import { telemetryState } from './state.js';

/** Result of a health or readiness check: `checks` names each dependency, `'ok'` or why it failed. */
export interface HealthReport {
  ok: boolean;
  checks: Record<string, 'ok' | string>;
}

export type HealthCheck = () => Promise<HealthReport>;

export interface MetricsServerOptions {
  /** Port to listen on; 0 picks a free one (read it back from the result). */
  port: number;
  /** Interface to bind. @defaultValue all interfaces (Node's default) */
  host?: string;
  /**
   * When set, `/metrics` needs `Authorization: Bearer <token>` (METRICS_TOKEN) from every client;
   * unset, it answers loopback clients only (403 to others). Probes stay open. @defaultValue none
   */
  token?: string;
  /** Liveness for `/health`. @defaultValue always ok */
  health?: HealthCheck;
  /** Readiness for `/ready` (ping dependencies here). @defaultValue always ok */
  ready?: HealthCheck;
  /** A check that takes longer fails with a timeout. @defaultValue 2_000 ms */
  checkTimeoutMs?: number;
}

export interface MetricsServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_CHECK_TIMEOUT_MS = 2_000; // 2 s
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const NOT_STARTED =
  '# OpenTelemetry SDK not started (OTEL_SDK_DISABLED=true, or the process was not started with\n' +
  '# --import @media-cluster/telemetry/register): no metrics are recorded.\n';

const serializer = new PrometheusSerializer();

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Serves `/metrics` (Prometheus text from the SDK's Prometheus reader, names
 * as Prometheus stores them), `/health` and `/ready` (200, or 503 naming the
 * failed dependency) on a port of its own, off the public API. Requests to it
 * are never traced.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { port, host, token, health, ready, checkTimeoutMs = DEFAULT_CHECK_TIMEOUT_MS } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TelemetryError('TELEMETRY_CONFIG_INVALID', `metrics port must be 0..65535 (got ${port})`);
  }
  if (token !== undefined && token.length === 0) {
    throw new TelemetryError('TELEMETRY_CONFIG_INVALID', 'metrics token must not be empty');
  }
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  const state = telemetryState();

  const authorized = (req: IncomingMessage): boolean => {
    const given = req.headers.authorization;
    // Compare digests so the time taken says nothing about the token.
    return expected !== undefined && typeof given === 'string' && timingSafeEqual(digest(given), expected);
  };

  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(head ? undefined : body);
  };

  const serveMetrics = async (res: ServerResponse, head: boolean) => {
    if (!state.collect) {
      send(res, 200, PROMETHEUS_CONTENT_TYPE, NOT_STARTED, head);
      return;
    }
    const { resourceMetrics } = await state.collect();
    // Host/machine ids are detected asynchronously; an early scrape waits for them
    // (a few ms, once) instead of serving target_info without them.
    if (resourceMetrics.resource.asyncAttributesPending)
      await resourceMetrics.resource.waitForAsyncAttributes?.();
    send(res, 200, PROMETHEUS_CONTENT_TYPE, serializer.serialize(withPrometheusNames(resourceMetrics)), head);
  };

  const serveCheck = async (res: ServerResponse, check: HealthCheck | undefined, head: boolean) => {
    const report = check ? await runCheck(check, checkTimeoutMs) : { ok: true, checks: {} };
    const failed = Object.entries(report.checks)
      .filter(([, value]) => value !== 'ok')
      .map(([name]) => name);
    const body = JSON.stringify({ ok: report.ok, checks: report.checks, ...(report.ok ? {} : { failed }) });
    send(res, report.ok ? 200 : 503, 'application/json; charset=utf-8', body, head);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'application/json; charset=utf-8', '{"error":"method not allowed"}', head);
      return;
    }
    switch (path) {
      case '/metrics':
        // No token: whoever reaches a loopback socket is on this machine (or in this
        // container); anything else must not read the metrics without one.
        if (expected === undefined && !isLoopback(req.socket.remoteAddress)) {
          send(
            res,
            403,
            'application/json; charset=utf-8',
            '{"error":"metrics are served to loopback clients only: set METRICS_TOKEN and scrape with it as a bearer token"}',
            head,
          );
          return;
        }
        if (expected !== undefined && !authorized(req)) {
          res.setHeader('www-authenticate', 'Bearer realm="metrics"');
          send(res, 401, 'application/json; charset=utf-8', '{"error":"unauthorized"}', head);
          return;
        }
        await serveMetrics(res, head);
        return;
      case '/health':
        await serveCheck(res, health, head);
        return;
      case '/ready':
        await serveCheck(res, ready, head);
        return;
      default:
        send(res, 404, 'application/json; charset=utf-8', '{"error":"not found"}', head);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ error: message }), false);
    });
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval, so scrapes reuse connections

  await listen(server, port, host);
  const bound = (server.address() as AddressInfo).port;
  state.untracedPorts.add(bound);

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        state.untracedPorts.delete(bound);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack socket's view of 127.0.0.1). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      reject(
        new TelemetryError(
          'TELEMETRY_METRICS_SERVER_LISTEN_FAILED',
          `metrics server could not listen on ${host ?? '*'}:${port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, checks: { check: `timed out after ${timeoutMs} ms` } }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      check().then(
        (report) => normalize(report),
        (error: unknown) => ({
          ok: false,
          checks: { check: error instanceof Error ? error.message : String(error) },
        }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function normalize(report: HealthReport): HealthReport {
  const checks = report?.checks && typeof report.checks === 'object' ? report.checks : {};
  const allOk = Object.values(checks).every((value) => value === 'ok');
  return { ok: Boolean(report?.ok) && allOk, checks };
}
