import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { describe, expect, it } from 'vitest';
import {
  checkPgShape,
  createPgInstrumentation,
  LeanPgInstrumentation,
} from '../src/upstream-patches/index.js';
import { warnPatchSkipped } from '../src/upstream-patches/shape.js';

// One block per patch in src/upstream-patches/. The first test of each fails
// when an upgrade changes the upstream internals the patch replaces: read the
// new upstream code, then adapt the patch or drop it.
describe('upstream patch pg-pool-gauges (instrumentation-pg private members)', () => {
  it('finds the private shape it replaces in the installed @opentelemetry/instrumentation-pg', () => {
    expect(checkPgShape()).toEqual({ ok: true });
    expect(createPgInstrumentation({ enabled: false })).toBeInstanceOf(LeanPgInstrumentation);
  });

  it('sees a changed shape: a method gone, or a replaced member used by a method it does not know', () => {
    class Renamed extends PgInstrumentation {}
    Object.defineProperty(Renamed.prototype, '_setPoolConnectEventListeners', { value: undefined });
    const gone = checkPgShape(Renamed as never);
    expect(gone.ok).toBe(false);

    const proto = {
      _updateMetricInstruments() {
        return [
          this._connectionsCount,
          this._connectionPendingRequests,
          this._connectionMax,
          this._operationDuration,
        ];
      },
      _setPoolConnectEventListeners() {
        return [this._connectionsCount, this._connectionPendingRequests];
      },
      _recordPoolMax() {
        return this._connectionMax;
      },
      _removePoolMax() {
        return this._connectionMax;
      },
      recordOperationDuration() {
        return this._operationDuration;
      },
      _getPoolConnectPatch() {
        return this._setPoolConnectEventListeners;
      },
      _getPoolEndPatch() {
        return this._removePoolMax;
      },
      // A new upstream path that updates the counters on its own.
      _onPoolError() {
        return this._connectionsCount;
      },
    } as Record<string, unknown>;
    function Fake() {}
    Fake.prototype = proto;
    const extra = checkPgShape(Fake as never);
    expect(extra).toEqual({ ok: false, problems: ['_connectionsCount also used by _onPoolError'] });
    delete proto._onPoolError;
    expect(checkPgShape(Fake as never)).toEqual({ ok: true });
  });

  it('warns once and the stock instrumentation runs when the shape changed', () => {
    const lines: unknown[][] = [];
    const check = { ok: false as const, problems: ['method _removePoolMax is gone'] };
    warnPatchSkipped('probe-patch', check, (...args) => lines.push(args));
    warnPatchSkipped('probe-patch', check, (...args) => lines.push(args));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toBe('warn');
    expect(lines[0]?.[2]).toEqual({ patch: 'probe-patch', problems: ['method _removePoolMax is gone'] });
  });
});
