import { type Attributes, type BatchObservableResult, ValueType } from '@opentelemetry/api';
import { PgInstrumentation, type PgInstrumentationConfig } from '@opentelemetry/instrumentation-pg';
import { METRIC_DB_CLIENT_OPERATION_DURATION } from '@opentelemetry/semantic-conventions';
import type { ShapeCheck } from './shape.js';

/**
 * Patch of @opentelemetry/instrumentation-pg (0.78): its pool gauges
 * (`db.client.connection.count`, `.pending_requests`, `.max`) are observed
 * when metrics are collected instead of being updated on every pool checkout
 * and release, where upstream adds to three up/down counters per pool event,
 * i.e. six attribute-hashing records around every query (bench/README.md,
 * "where the cost goes"). Spans, metric names and labels stay upstream's.
 *
 * Upstream offers no option for this, so the subclass replaces private
 * members. {@link checkPgShape} says at start-up whether they are still the
 * ones upstream uses; when not, the stock instrumentation runs instead
 * (instrumentations.ts) and one warning says so.
 */

/** What a pg-pool Pool exposes that the pool gauges read. */
interface PoolLike {
  options?: { host?: string; port?: number | string; database?: string; max?: number };
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

interface PoolSeries {
  used: Attributes;
  idle: Attributes;
  pool: Attributes;
  max: number;
}

/** The upstream members replaced here (declared private in its typings). */
interface PgInternals {
  _operationDuration: unknown;
  _connectionsCount: unknown;
  _connectionPendingRequests: unknown;
  _connectionMax: unknown;
  _setPoolConnectEventListeners: (pool: PoolLike) => void;
  _removePoolMax: (pool: PoolLike) => void;
}

/**
 * Which upstream methods may touch which private member, as of 0.78. Any
 * other method that touches one of them (or a listed method that is gone or
 * no longer touches it) means upstream changed in a way this patch does not
 * know, so it must not run.
 */
const EXPECTED_USES: Readonly<Record<string, readonly string[]>> = {
  _connectionsCount: ['_updateMetricInstruments', '_setPoolConnectEventListeners'],
  _connectionPendingRequests: ['_updateMetricInstruments', '_setPoolConnectEventListeners'],
  _connectionMax: ['_updateMetricInstruments', '_recordPoolMax', '_removePoolMax'],
  _operationDuration: ['_updateMetricInstruments', 'recordOperationDuration'],
  _setPoolConnectEventListeners: ['_getPoolConnectPatch'],
  _removePoolMax: ['_getPoolEndPatch'],
};

/** Checks that PgInstrumentation still has the private shape {@link LeanPgInstrumentation} replaces. */
export function checkPgShape(
  Upstream: abstract new (...args: never[]) => unknown = PgInstrumentation,
): ShapeCheck {
  const proto = Upstream.prototype as Record<string, unknown>;
  const sources = new Map<string, string>();
  for (const name of Object.getOwnPropertyNames(proto)) {
    const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
    if (typeof value === 'function' && name !== 'constructor') sources.set(name, String(value));
  }
  const problems: string[] = [];
  for (const [member, expected] of Object.entries(EXPECTED_USES)) {
    // A member name followed by a non-identifier character, so `_connectionMax` does not match `_connectionMaxFoo`.
    const use = new RegExp(`\\b${member}\\b`);
    const users = [...sources]
      .filter(([name, src]) => name !== member && use.test(src))
      .map(([name]) => name);
    const missing = expected.filter((name) => !users.includes(name));
    const unexpected = users.filter((name) => !expected.includes(name));
    if (missing.length > 0) problems.push(`${member} no longer used by ${missing.join(', ')}`);
    if (unexpected.length > 0) problems.push(`${member} also used by ${unexpected.join(', ')}`);
  }
  for (const method of ['_setPoolConnectEventListeners', '_removePoolMax', '_updateMetricInstruments']) {
    if (!sources.has(method)) problems.push(`method ${method} is gone`);
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

const NOT_RECORDED = { add: () => {} };
const POOLS = Symbol('media-cluster.pg.pools');

/** Same label value as the upstream instrumentation: `host:port/database`. */
function poolName(pool: PoolLike): string {
  const o = pool.options ?? {};
  return `${o.host || 'unknown_host'}:${o.port || 'unknown_port'}/${o.database || 'unknown_database'}`.trim();
}

/**
 * The pg instrumentation with the same spans and the same metric names and
 * labels, except that the pool gauges are observed at collection time.
 * Only construct it when {@link checkPgShape} is ok.
 */
export class LeanPgInstrumentation extends PgInstrumentation {
  constructor(config: PgInstrumentationConfig = {}) {
    super(config);
    const self = this as unknown as PgInternals;
    // Replaces the per-event listeners; pool.end() still forgets the pool.
    self._setPoolConnectEventListeners = (pool) => {
      const pools = this.pools();
      if (pools.has(pool)) return;
      const name = poolName(pool);
      pools.set(pool, {
        used: { 'db.client.connection.state': 'used', 'db.client.connection.pool.name': name },
        idle: { 'db.client.connection.state': 'idle', 'db.client.connection.pool.name': name },
        pool: { 'db.client.connection.pool.name': name },
        max: Number(pool.options?.max ?? 10),
      });
    };
    self._removePoolMax = (pool) => {
      this.pools().delete(pool);
    };
  }

  /** Runs from the base constructor too, before any field of this class exists. */
  private pools(): Map<PoolLike, PoolSeries> {
    const holder = this as unknown as { [POOLS]?: Map<PoolLike, PoolSeries> };
    holder[POOLS] ??= new Map();
    return holder[POOLS];
  }

  override _updateMetricInstruments(): void {
    const self = this as unknown as PgInternals;
    const meter = this.meter;
    self._operationDuration = meter.createHistogram(METRIC_DB_CLIENT_OPERATION_DURATION, {
      description: 'Duration of database client operations.',
      unit: 's',
      valueType: ValueType.DOUBLE,
    });
    // Never added to: the upstream code paths that would are replaced above.
    self._connectionsCount = NOT_RECORDED;
    self._connectionPendingRequests = NOT_RECORDED;
    self._connectionMax = NOT_RECORDED;
    const count = meter.createObservableUpDownCounter('db.client.connection.count', {
      description: 'Connections of the pool by state (used, idle).',
      unit: '{connection}',
    });
    const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'Requests waiting for a connection of the pool.',
      unit: '{connection}',
    });
    const max = meter.createObservableUpDownCounter('db.client.connection.max', {
      description: 'Most connections the pool may open.',
      unit: '{connection}',
    });
    meter.addBatchObservableCallback(
      (result: BatchObservableResult) => {
        for (const [pool, series] of this.pools()) {
          const idle = pool.idleCount;
          result.observe(count, pool.totalCount - idle, series.used);
          result.observe(count, idle, series.idle);
          result.observe(pending, pool.waitingCount, series.pool);
          result.observe(max, series.max, series.pool);
        }
      },
      [count, pending, max],
    );
  }
}
