#!/usr/bin/env node
// `pnpm stack` after set-up: the observability stack of docker-compose.yml as
// native processes, for a person without Docker: the real OpenTelemetry
// Collector (otel-collector-config.yaml), Jaeger v2 (observability/jaeger) and
// Prometheus (observability/prometheus, scraping the collector and the
// services' /metrics where `npm start` serves them), built from their Go
// modules, on their usual ports. `npm start` in another terminal exports to it.
import { startStack } from '../packages/testkit/dist/index.js';

const say = (line) => process.stderr.write(`[stack] ${line}\n`);
const port = (name, fallback) => Number(process.env[name] ?? fallback);

const ports = {
  collector: {
    otlpGrpc: port('OTEL_COLLECTOR_OTLP_GRPC_PORT', 4317),
    otlpHttp: port('OTEL_COLLECTOR_OTLP_HTTP_PORT', 4318),
    prometheus: port('OTEL_COLLECTOR_PROMETHEUS_PORT', 8889),
    telemetry: port('OTEL_COLLECTOR_TELEMETRY_PORT', 8888),
    health: port('OTEL_COLLECTOR_HEALTH_PORT', 13133),
  },
  // Jaeger's OTLP receiver only takes the collector's export: off the usual 4317/4318.
  jaeger: {
    otlpGrpc: port('JAEGER_OTLP_GRPC_PORT', 14317),
    otlpHttp: port('JAEGER_OTLP_HTTP_PORT', 14318),
    queryHttp: port('JAEGER_QUERY_HTTP_PORT', 16686),
    queryGrpc: port('JAEGER_QUERY_GRPC_PORT', 16685),
    telemetry: port('JAEGER_TELEMETRY_PORT', 14269),
  },
  prometheus: port('PROMETHEUS_PORT', 9090),
};
const services = {
  api: [`127.0.0.1:${process.env.METRICS_PORT ?? 9464}`],
  worker: [`127.0.0.1:${process.env.WORKER_METRICS_PORT ?? 9465}`],
};

let stack;
let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await stack?.stop().catch((error) => say(`stop: ${error.message}`));
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

try {
  say('starting Prometheus, Jaeger and the OpenTelemetry Collector…');
  stack = await startStack({ ports, services });
} catch (error) {
  say(`could not start: ${error.message}`);
  say('A port may be taken (another stack, docker compose?): set the *_PORT variables above to move it.');
  process.exit(1);
}

const jaeger = stack.jaeger.url.replace('127.0.0.1', 'localhost');
const hasUi = await stack.jaeger.hasUi().catch(() => false);
const lines = [
  `OTLP         gRPC localhost:${ports.collector.otlpGrpc}, HTTP localhost:${ports.collector.otlpHttp} (npm start exports here by default)`,
  `Prometheus   ${stack.prometheus.url.replace('127.0.0.1', 'localhost')}  (alerts: /alerts; rules from observability/prometheus/rules)`,
  hasUi
    ? `Jaeger       ${jaeger}  (Search, and Monitor from the collector's spanmetrics)`
    : `Jaeger       ${jaeger}  API only: this source-built Jaeger has no UI assets (they come from the jaeger-ui release, which the Go module does not carry).`,
];
if (!hasUi) {
  lines.push(
    `             a trace:  curl -s ${jaeger}/api/v3/traces/<traceId>   (npm start prints the trace id of its demo job)`,
    `             services: curl -s ${jaeger}/api/services`,
    `             Monitor:  curl -s '${jaeger}/api/metrics/calls?service=media-cluster-api&spanKind=server&lookback=900000&step=60000&ratePer=60000'`,
  );
}
process.stdout.write(`\n${lines.join('\n')}\n\nCtrl-C stops the stack.\n`);
