// testkit's OTLP receiver in a process of its own (started by bench/lib/services.mjs), so the
// decoding of what the services export costs CPU here, visibly, and not in the process under test
// or in the load generator. Prints one line `READY {"grpc": ..., "http": ...}`; every 500 ms it
// counts and forgets what arrived (memory stays flat under load); on a `stats` line on stdin it
// prints `STATS {"spans", "logs", "metric_points", "calls", "cpu_ms", "by_service"}` (since the previous
// stats; by_service: spans, logs and spans by name per service.name).
import { createInterface } from 'node:readline';
import { startOtlpReceiver } from '@media-cluster/testkit';

const receiver = await startOtlpReceiver();
const totals = { spans: 0, logs: 0, metric_points: 0, calls: 0, failed_calls: 0, by_service: {} };
const count = (items, kind) => {
  for (const item of items) {
    const service = String(item.resource['service.name'] ?? 'unknown');
    totals.by_service[service] ??= { spans: 0, logs: 0, span_names: {} };
    const s = totals.by_service[service];
    s[kind] += 1;
    if (kind === 'spans') s.span_names[item.name] = (s.span_names[item.name] ?? 0) + 1;
  }
};
const drain = () => {
  totals.spans += receiver.spans.length;
  totals.logs += receiver.logs.length;
  count(receiver.spans, 'spans');
  count(receiver.logs, 'logs');
  for (const m of receiver.metrics) totals.metric_points += m.dataPoints.length;
  totals.calls += receiver.calls.length;
  totals.failed_calls += receiver.calls.filter((c) => c.outcome !== 'ok').length;
  receiver.reset();
};
const timer = setInterval(drain, 500);
let cpuMark = process.cpuUsage();

process.stdout.write(
  `READY ${JSON.stringify({ grpc: receiver.grpcEndpoint, http: receiver.httpEndpoint })}\n`,
);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  drain();
  const cpu = process.cpuUsage(cpuMark);
  cpuMark = process.cpuUsage();
  process.stdout.write(
    `STATS ${JSON.stringify({ ...totals, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) })}\n`,
  );
  for (const k of Object.keys(totals)) totals[k] = k === 'by_service' ? {} : 0;
});
const stop = async () => {
  clearInterval(timer);
  await receiver.stop();
  process.exit(0);
};
lines.on('close', stop);
process.once('SIGTERM', stop);
