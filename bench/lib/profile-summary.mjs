#!/usr/bin/env node
// `node bench/lib/profile-summary.mjs <file.cpuprofile> [--top 40] [--after 5 | --window window.json]
//                                     [--requests n] [--categories]`
// Self time of a V8 CPU profile (node --cpu-prof) by package (node_modules/<pkg>, or node: internals,
// or the workspace package) and by function, so the cost of OpenTelemetry shows as a few lines.
// `--window`: only the samples between `from_us` and `to_us` of that JSON file (monotonic clock in µs,
// the one V8 profiles and `process.hrtime` use), e.g. the timed jobs of `pnpm bench pipeline --cpu-prof`,
// which writes one per run (its `jobs` count becomes the default for `--requests`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '40' },
    filter: { type: 'string', default: '' },
    // Requests the process served while profiled: adds a µs-per-request column.
    requests: { type: 'string', default: '0' },
    // Seconds from the profile's start to leave out (process start-up, module loading).
    after: { type: 'string', default: '0' },
    // A JSON file {from_us, to_us, jobs?}: only the samples in that monotonic-clock window.
    window: { type: 'string', default: '' },
    // Also print the telemetry cost by kind (export, context, http instrumentation, ...).
    categories: { type: 'boolean', default: false },
  },
});
const top = Number(values.top);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

function packageOf(url) {
  if (!url) return '(native/gc/idle)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ws) return `@media-cluster/${ws[2]}`;
  return url;
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  // A sample's delta is wall time since the previous one: after the thread was preempted (a busy,
  // shared machine) one sample would carry the whole wait. Each counts for at most the median
  // sampling interval, so the shares are of CPU, not of waiting.
  const cap = median(dt.filter((d) => d > 0)) || 1000;
  const window = values.window ? JSON.parse(readFileSync(values.window, 'utf8')) : undefined;
  const from = window ? window.from_us : profile.startTime + Number(values.after) * 1e6;
  const to = window ? window.to_us : Number.POSITIVE_INFINITY;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += dt[i] ?? 0;
    if (at < from || at > to) continue;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + Math.min(dt[i] ?? 0, cap));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byPkg = new Map();
  const byFn = new Map();
  for (const [id, us] of self) {
    const node = byId.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const pkg = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : packageOf(url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
    const key = `${name} ${pkg} ${url ? `${url.split('/').slice(-1)[0]}:${lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  // Owner: the nearest frame up the stack that is package code, so node internals and native
  // work (Buffer, streams, http2, hashing) count for the package that asked for them.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byOwner = new Map();
  const internal = (p) => p === 'node:internal' || p === '(native/gc/idle)';
  for (const [id, us] of self) {
    const node = byId.get(id);
    const name = node.callFrame.functionName;
    let owner = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : undefined;
    for (let cur = id; owner === undefined && cur !== undefined; cur = parent.get(cur)) {
      const p = packageOf(byId.get(cur).callFrame.url);
      if (!internal(p)) owner = p;
    }
    owner ??= 'node:internal (no package on the stack)';
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const busy = total - (byPkg.get('(idle)') ?? 0);
  const requests = Number(values.requests) || (window?.jobs ?? 0);
  const pct = (us) =>
    `${((100 * us) / busy).toFixed(1)}%`.padStart(6) +
    (requests > 0 ? ` ${(us / requests).toFixed(1).padStart(7)} µs/req` : '');
  console.log(
    `\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy)`,
  );
  const otel = [...byPkg].filter(
    ([p]) =>
      p.startsWith('@opentelemetry/') ||
      p === 'import-in-the-middle' ||
      p === 'require-in-the-middle' ||
      p === 'shimmer' ||
      p.startsWith('@grpc/') ||
      p === 'protobufjs',
  );
  console.log(`OpenTelemetry + gRPC/protobuf: ${pct(otel.reduce((a, [, us]) => a + us, 0))}`);
  console.log('-- by package');
  for (const [pkg, us] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (pkg !== '(idle)') console.log(`${pct(us)}  ${pkg}`);
  }
  console.log('-- by owner (self time + node internals it called)');
  for (const [pkg, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (pkg !== '(idle)') console.log(`${pct(us)}  ${pkg}`);
  }
  if (values.categories) {
    // Kind of telemetry work, by owner (the nearest package frame up the stack, as above): protobuf
    // writing counts as export, Buffer work it asked for too; a listener the context manager bound
    // that runs express code counts as express, not as context.
    const kinds = [
      [
        'export (OTLP encoding, gRPC)',
        /otlp-transformer|otlp-exporter-base|otlp-grpc-exporter-base|@grpc\/|export-guard|otlp-grpc-exporters/,
      ],
      ['context (AsyncLocalStorage, API context)', /context-async-hooks|@opentelemetry\/api\//],
      ['http instrumentation', /instrumentation-http/],
      ['metric recording (sdk-metrics)', /sdk-metrics/],
      ['span creation (sdk-trace, core)', /sdk-trace|@opentelemetry\/core/],
      ['pg / ioredis / pino instrumentations', /instrumentation-(pg|ioredis|pino)|sql-common|redis-common/],
      ['log bridge', /telemetry\/(dist|src)\/(log-bridge|create-logger)/],
      ['module hooks (import/require-in-the-middle)', /import-in-the-middle|require-in-the-middle/],
    ];
    const byKind = new Map();
    for (const [id, us] of self) {
      if (byId.get(id).callFrame.functionName === '(idle)') continue;
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const url = byId.get(cur).callFrame.url;
        if (internal(packageOf(url))) continue;
        const kind = kinds.find(([, re]) => re.test(url));
        if (kind) byKind.set(kind[0], (byKind.get(kind[0]) ?? 0) + us);
        break;
      }
    }
    console.log('-- telemetry by kind (owner: self time + node internals it called)');
    for (const [kind] of kinds) console.log(`${pct(byKind.get(kind) ?? 0)}  ${kind}`);
  }
  console.log('-- by function');
  for (const [fn, us] of [...byFn]
    .filter(([k]) => k.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    console.log(`${pct(us)}  ${fn}`);
}
