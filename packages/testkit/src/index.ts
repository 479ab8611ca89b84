export { findBinary } from './binaries.js';
export { freePort } from './free-port.js';
export { IMAGE_MARKERS, imageMarkersIn } from './image-markers.js';
export { createTestSchema, type TestSchema, uniqueName } from './isolation.js';
export { kustomize } from './kustomize.js';
export { findLeaks, type Leaks } from './leak-check.js';
export { normalizeLogs, normalizeMetrics, normalizeTraces } from './otlp-normalize.js';
export { PROTO_DIR } from './otlp-proto.js';
export {
  type LogFilter,
  type OtlpReceiver,
  type OtlpReceiverOptions,
  type SpanFilter,
  startOtlpReceiver,
  type WaitForItemsOptions,
  type WaitForMetricOptions,
} from './otlp-receiver.js';
export type {
  Attributes,
  InstrumentationScope,
  MetricType,
  OtlpSignal,
  OtlpTransport,
  ReceivedCall,
  ReceivedDataPoint,
  ReceivedExemplar,
  ReceivedLog,
  ReceivedMetric,
  ReceivedSpan,
  ReceiverBehaviour,
  SpanKindName,
  StatusCodeName,
  Temporality,
} from './otlp-types.js';
export {
  type BadUploadEntry,
  badUploadCorpus,
  PHOTO_FIXTURES_DIR,
  readPhotoFixture,
  readPhotoManifest,
} from './photo-fixtures.js';
export { canConnect, type PostgresOptions, startPostgres } from './postgres.js';
export {
  leftovers,
  makeTempDir,
  removeTempDir,
  runId,
  type Spawned,
  spawnTracked,
  stopProcess,
} from './processes.js';
export { type PrometheusHandle, type PrometheusOptions, startPrometheus } from './prometheus.js';
export {
  type PromAlert,
  type PromExemplarSeries,
  type PromRuleGroup,
  type PromSample,
  type PromSeries,
  type PromTarget,
  parseSampleValue,
  type QueryRangeOptions,
} from './prometheus-api.js';
export {
  buildPrometheusConfig,
  DEFAULT_JOB,
  type ScrapeJob,
  type ScrapeTarget,
} from './prometheus-config.js';
export { type PromtoolOptions, type PromtoolResult, promtool } from './promtool.js';
export { pingRedis, type RedisOptions, startRedis } from './redis.js';
export {
  type ClusterNodeInfo,
  parseClusterNodes,
  type RedisClusterHandle,
  type RedisClusterNode,
  type RedisClusterOptions,
  startRedisCluster,
} from './redis-cluster.js';
export { REPO_ROOT } from './repo-root.js';
export type { ServerExit, ServiceHandle } from './service-handle.js';
export { type ServiceProcess, type SpawnServiceOptions, spawnService } from './spawn-service.js';
export { type CollectorHandle, type CollectorOptions, startCollector } from './stack/collector.js';
export {
  ensureStackBinaries,
  GO_PROGRAMS,
  type GoProgram,
  goVersion,
  type StackProgram,
  stackBinaryPath,
  stackCacheDir,
} from './stack/go-programs.js';
export { type JaegerHandle, type JaegerOptions, startJaeger } from './stack/jaeger.js';
export type { JaegerApi, JaegerSpan, SpmQuery, SpmSeries, SpmSpanKind } from './stack/jaeger-api.js';
export type { ProgramProcess } from './stack/program.js';
export {
  readRepoPrometheusConfig,
  repoPrometheusConfig,
  repoRuleFiles,
  repoScrapeAddresses,
  type ScrapeAddresses,
} from './stack/prometheus-config.js';
export type { RunProgramOptions, RunProgramResult } from './stack/run-program.js';
export { type ServiceTargets, type StackHandle, type StackOptions, startStack } from './stack/start-stack.js';
export { type TelemetryLeakOptions, telemetryLeaks } from './telemetry-leaks.js';
export { buildTraceTree, type RenderTraceOptions, renderTraceTree, type TraceNode } from './trace-tree.js';
export type { TestkitProvidedContext } from './vitest-context.js';
export { type WaitOptions, waitFor } from './wait-for.js';
