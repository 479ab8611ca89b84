import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  API_METRICS,
  METRIC_PREFIX,
  queueMetricNames,
  SECONDS_BUCKETS,
  WORKER_METRICS,
} from '../src/index.js';

const catalogue = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
/** Prometheus names in the catalogue's first column. */
const documented = new Set(
  [...catalogue.matchAll(/^\| (`[^|]+)\|/gm)].flatMap((m) =>
    [...m[1]!.matchAll(/`([a-z_0-9]+)`/g)].map((x) => x[1]!),
  ),
);
/** Documented as Prometheus stores it: as it is (gauges, histograms) or with `_total` (counters). */
const isDocumented = (name: string) => documented.has(name) || documented.has(`${name}_total`);

describe('the vocabulary', () => {
  it('names every metric the way docs/metrics.md (the contract) lists it', () => {
    const names = [
      ...Object.values(queueMetricNames()),
      ...Object.values(WORKER_METRICS).map((m) => m.name),
      ...Object.values(API_METRICS).map((m) => m.name),
    ];
    const missing = names.filter((n) => !isDocumented(n));
    expect(documented.size).toBeGreaterThan(20);
    expect(missing).toEqual([]);
    for (const name of names) expect(name.startsWith(`${METRIC_PREFIX}_`)).toBe(true);
  });

  it('gives the second buckets docs/metrics.md lists', () => {
    const listed = /use `([^`]+)`\s+s/.exec(catalogue.replace(/\n/g, ' '));
    expect(listed).not.toBeNull();
    expect(listed![1]!.split(',').map(Number)).toEqual([...SECONDS_BUCKETS]);
  });
});
