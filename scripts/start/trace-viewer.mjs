// Where `npm start`'s sample trace can be seen: is a collector listening at the
// OTLP endpoint, and is a Jaeger answering (with its UI, or only its API, as a
// Jaeger built from source under `pnpm stack`)? Plain Node: it runs after set-up.
import { connect } from 'node:net';

/** True when something accepts a TCP connection at `url`'s host and port within `ms`. */
function listening(url, ms = 500) {
  let target;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const socket = connect({ host: target.hostname, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function jaegerAt(url) {
  try {
    const api = await fetch(`${url}/api/services`, { signal: AbortSignal.timeout(1_000) });
    if (!api.ok) return undefined;
    const page = await (await fetch(`${url}/`, { signal: AbortSignal.timeout(1_000) })).text();
    // A Jaeger built from its Go module serves a placeholder instead of the UI.
    return { ui: !/<title>Test Page<\/title>/.test(page) };
  } catch {
    return undefined;
  }
}

/**
 * The lines that tell a person how to open `traceId`: a Jaeger link when a
 * collector and a Jaeger answer, the API call when that Jaeger has no UI, and
 * how to get one (`pnpm stack`, docker compose) when nothing listens.
 */
export async function traceViewerLines({ otlpEndpoint, jaegerUrl, traceId }) {
  if (!(await listening(otlpEndpoint))) {
    return [
      `traces     no collector at ${otlpEndpoint}: telemetry is dropped (the services warned once).`,
      '           `pnpm stack` (no Docker) or `docker compose up` brings a collector, Jaeger and Prometheus.',
    ];
  }
  const jaeger = await jaegerAt(jaegerUrl);
  if (!jaeger) {
    return [
      `traces     OTLP to ${otlpEndpoint} (a collector answers; no Jaeger at ${jaegerUrl}, JAEGER_URL moves it)`,
    ];
  }
  if (!traceId) return [`traces     Jaeger at ${jaegerUrl}`];
  return jaeger.ui
    ? [`trace      ${jaegerUrl}/trace/${traceId}`]
    : [
        `trace      curl -s ${jaegerUrl}/api/v3/traces/${traceId}`,
        '           (this Jaeger has no UI assets: a build from its Go module; `docker compose up` has the UI)',
      ];
}
