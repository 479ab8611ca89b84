// Small helpers shared by the benchmarks: statistics, machine facts, tables, result files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(benchDir, '..');

/** Nearest-rank percentile (p in 0..100) of numbers in any order. */
export function percentile(xs, p) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Median (mean of the middle two for an even count). */
export function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const round = (x, digits = 0) => (Number.isFinite(x) ? +x.toFixed(digits) : x);

/** Load average as "1.2 0.9 0.8". */
export const loadText = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export function machine() {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    node: process.version,
    loadavg: loadavg().map((l) => round(l, 2)),
  };
}

/** A markdown table: `columns` is [[header, (row) => cell, align?]]. */
export function markdownTable(columns, rows) {
  const head = `| ${columns.map(([h]) => h).join(' | ')} |`;
  const rule = `| ${columns.map(([, , align]) => (align === 'left' ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map(([, cell]) => String(cell(r))).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** Writes bench/results/<name>.json (or <name>.json where name is an absolute path) and returns its path. */
export function writeResults(name, data) {
  const file = isAbsolute(name) ? `${name}.json` : join(benchDir, 'results', `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/**
 * A ratio between two modes measured in the same rounds: the median of the per-round ratios
 * (each round's pair ran back to back, so machine drift cancels within a pair), with the rounds.
 * `pairs` is [[numerator, denominator], ...] in round order.
 */
export function pairedRatio(pairs) {
  const perRound = pairs.map(([a, b]) => a / b);
  return { ratio: median(perRound), perRound };
}

/** "met" / "not met" for `value` against `goal` (`atLeast` false: the value must stay at or under it). */
export function goalText(value, goal, { atLeast = true } = {}) {
  if (!Number.isFinite(value)) return 'not measured';
  return (atLeast ? value >= goal : value <= goal) ? 'met' : 'not met';
}
