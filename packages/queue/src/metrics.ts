import { LABEL_STATUS, queueMetricNames } from '@media-cluster/semconv';
import {
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type Observable,
} from '@opentelemetry/api';
import type { ResolvedMetricsOptions } from './options.js';
import { SCOPE_NAME } from './semconv.js';
import type { QueueStats } from './types.js';
import { VERSION } from './version.js';

// Names and second buckets come from the caller (options.metrics): the same advice the application's
// views give in production, so a test without the views sees the buckets production has.

// Label objects are created once: the SDK hashes them on every record.
export const STATUS_SUCCEEDED: Attributes = Object.freeze({ [LABEL_STATUS]: 'succeeded' });
export const STATUS_FAILED: Attributes = Object.freeze({ [LABEL_STATUS]: 'failed' });
export const STATUS_DEAD_LETTERED: Attributes = Object.freeze({ [LABEL_STATUS]: 'dead_lettered' });
const NO_LABELS: Attributes = Object.freeze({});

function meter(): Meter {
  return metrics.getMeter(SCOPE_NAME, VERSION);
}

export interface ProducerMetrics {
  published: Counter;
}

export function createProducerMetrics(options: ResolvedMetricsOptions): ProducerMetrics {
  const published = meter().createCounter(queueMetricNames(options.prefix).published, {
    description: 'Jobs added to the stream by this process.',
  });
  published.add(0);
  return { published };
}

export interface ConsumerMetrics {
  jobs: Counter;
  retries: Counter;
  deadLetter: Counter;
  consumed: Counter;
  processingDuration: Histogram;
  queueLatency: Histogram;
}

export function createConsumerMetrics(options: ResolvedMetricsOptions): ConsumerMetrics {
  const m = meter();
  const METRIC = queueMetricNames(options.prefix);
  const buckets = [...options.secondsBuckets];
  const result: ConsumerMetrics = {
    jobs: m.createCounter(METRIC.jobs, { description: 'Job attempts by outcome.' }),
    retries: m.createCounter(METRIC.retries, { description: 'Failed attempts scheduled for a retry.' }),
    deadLetter: m.createCounter(METRIC.deadLetter, {
      description: 'Entries moved to the dead-letter stream.',
    }),
    consumed: m.createCounter(METRIC.consumed, { description: 'Entries delivered to this process.' }),
    processingDuration: m.createHistogram(METRIC.processingDuration, {
      description: 'Handler time per attempt.',
      unit: 's',
      advice: { explicitBucketBoundaries: buckets },
    }),
    queueLatency: m.createHistogram(METRIC.queueLatency, {
      description: 'Time from enqueue (enqueued_at) to handler start.',
      unit: 's',
      advice: { explicitBucketBoundaries: buckets },
    }),
  };
  // Every family exists from start-up, so alerts and dashboards work before the first failure.
  for (const status of [STATUS_SUCCEEDED, STATUS_FAILED, STATUS_DEAD_LETTERED]) result.jobs.add(0, status);
  result.retries.add(0);
  result.deadLetter.add(0);
  result.consumed.add(0);
  return result;
}

/** What a running consumer contributes to the gauges. */
export interface GaugeSource {
  /** `stream\u0000group`: consumers of one group share their pending/lag numbers. */
  readonly groupKey: string;
  readonly inflight: number;
  stats(): Promise<QueueStats>;
}

interface GaugeRegistry {
  readonly sources: Set<GaugeSource>;
}

/**
 * The gauges are observed per process (all consumers in it), from one batch
 * callback per meter: `worker_inflight` sums the consumers, `pending_jobs`
 * and `consumer_lag` count each consumer group once. Reading Redis happens
 * only when a reader collects, never on the job path.
 */
const registries = new WeakMap<Meter, Map<string, GaugeRegistry>>();
const STATS_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

function registryFor(m: Meter, prefix: string): GaugeRegistry {
  let byPrefix = registries.get(m);
  if (!byPrefix) {
    byPrefix = new Map();
    registries.set(m, byPrefix);
  }
  let registry = byPrefix.get(prefix);
  if (registry) return registry;
  const sources = new Set<GaugeSource>();
  registry = { sources };
  byPrefix.set(prefix, registry);
  const METRIC = queueMetricNames(prefix);
  const inflight = m.createObservableGauge(METRIC.workerInflight, {
    description: 'Jobs being handled by this process.',
  });
  const pending = m.createObservableGauge(METRIC.pendingJobs, {
    description:
      'Entries of the consumer group not acknowledged yet: delivered (pending) plus not yet delivered (lag).',
  });
  const lag = m.createObservableGauge(METRIC.consumerLag, {
    description: 'Entries not yet delivered to the consumer group (XINFO GROUPS lag).',
  });
  const observables: Observable[] = [inflight, pending, lag];
  m.addBatchObservableCallback(async (result: BatchObservableResult) => {
    let total = 0;
    const groups = new Map<string, GaugeSource>();
    for (const source of sources) {
      total += source.inflight;
      if (!groups.has(source.groupKey)) groups.set(source.groupKey, source);
    }
    // 0 (not nothing) once the last consumer closed: the SDK would otherwise repeat the last value.
    result.observe(inflight, total, NO_LABELS);
    if (groups.size === 0) return;
    const stats = await Promise.all(
      [...groups.values()].map((s) => withTimeout(s.stats(), STATS_TIMEOUT_MS)),
    );
    // Redis unreachable: report nothing rather than a misleading 0.
    if (stats.some((s) => s === undefined)) return;
    let pendingSum = 0;
    let lagSum = 0;
    for (const s of stats as QueueStats[]) {
      const l = Number.isFinite(s.lag) ? s.lag : 0;
      pendingSum += s.pending + l;
      lagSum += l;
    }
    result.observe(pending, pendingSum, NO_LABELS);
    result.observe(lag, lagSum, NO_LABELS);
  }, observables);
  return registry;
}

/** Adds a consumer to this process's gauges; returns the function that removes it. */
export function registerGaugeSource(source: GaugeSource, prefix: string): () => void {
  const { sources } = registryFor(meter(), prefix);
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}
