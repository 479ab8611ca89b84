import type { ReceivedSpan } from './otlp-types.js';

export interface TraceNode {
  span: ReceivedSpan;
  /** Ordered by start time, then name. */
  children: TraceNode[];
}

export interface RenderTraceOptions {
  /** Append each span's duration (not stable across runs: keep off for equality asserts). @defaultValue false */
  durations?: boolean;
  /** Attribute keys to print after each span, e.g. `['messaging.operation.type']`. @defaultValue [] */
  attributes?: readonly string[];
}

function byStart(a: TraceNode, b: TraceNode): number {
  const d = BigInt(a.span.startTimeUnixNano) - BigInt(b.span.startTimeUnixNano);
  if (d !== 0n) return d < 0n ? -1 : 1;
  return a.span.name.localeCompare(b.span.name);
}

/**
 * Nests the spans of one trace by parentSpanId. Roots are spans whose parent
 * is not in the trace (true roots, or children of a remote/missing parent).
 * A span received twice (an exporter retry) appears once.
 */
export function buildTraceTree(spans: readonly ReceivedSpan[], traceId: string): TraceNode[] {
  const nodes = new Map<string, TraceNode>();
  for (const span of spans) {
    if (span.traceId === traceId && !nodes.has(span.spanId)) nodes.set(span.spanId, { span, children: [] });
  }
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId ? nodes.get(node.span.parentSpanId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const sort = (list: TraceNode[]) => {
    list.sort(byStart);
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}

/**
 * Renders a trace tree as indented lines, `name [KIND]` plus an error status
 * and chosen attributes, for assertion messages and snapshot-style equality.
 */
export function renderTraceTree(roots: readonly TraceNode[], options: RenderTraceOptions = {}): string {
  const lines: string[] = [];
  const walk = (node: TraceNode, depth: number) => {
    const { span } = node;
    let line = `${'  '.repeat(depth)}${span.name} [${span.kind}]`;
    if (span.status.code !== 'UNSET') {
      line += ` ${span.status.code}${span.status.message ? `: ${span.status.message}` : ''}`;
    }
    for (const key of options.attributes ?? []) {
      if (key in span.attributes) line += ` ${key}=${JSON.stringify(span.attributes[key])}`;
    }
    if (options.durations) line += ` ${span.durationMs.toFixed(1)}ms`;
    lines.push(line);
    for (const child of node.children) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  return lines.join('\n');
}
