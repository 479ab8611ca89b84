#!/usr/bin/env node
// Maintenance helper, not a test: runs `promtool test rules` on the given test
// files and, for each expected alert whose labels match but whose annotations
// were left out, writes the annotations promtool rendered into the file. Review
// the diff: the rendered summary/description are what an operator will read.
//   node observability/scripts/fill-rule-test-annotations.mjs observability/prometheus/tests/*.test.yml
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { stackBinaryPath } from '../../packages/testkit/dist/index.js';

// The promtool built from observability/stack/prometheus (the release compose runs).
const promtoolBinary = process.env.PROMTOOL ?? stackBinaryPath('promtool');

const seconds = (d) => {
  let total = 0;
  for (const [, n, u] of String(d).matchAll(/(\d+)(ms|s|m|h|d)/g))
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[u];
  return total;
};
const pairs = (s) =>
  Object.fromEntries(
    [...s.matchAll(/([\w]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], JSON.parse(`"${m[2]}"`)]),
  );

for (const file of process.argv.slice(2)) {
  const r = spawnSync(promtoolBinary, ['test', 'rules', file.split('/').pop()], {
    cwd: dirname(file),
    encoding: 'utf8',
  });
  const out = r.stdout + r.stderr;
  const doc = parseDocument(readFileSync(file, 'utf8'));
  let filled = 0;
  for (const block of out.split(/\n\s*name: /).slice(1)) {
    const head = block.match(/^(.*),\n\s*alertname: (\w+), time: ([\dhms]+),/);
    const got = block.split('got:[')[1];
    if (!head || !got) continue;
    const [, name, alertname, time] = head;
    const test = doc.get('tests').items.find((t) => t.get('name') === name);
    const rt = test
      ?.get('alert_rule_test')
      ?.items.find((c) => c.get('alertname') === alertname && seconds(c.get('eval_time')) === seconds(time));
    if (!rt) continue;
    const gotAlerts = [...got.matchAll(/Labels:\{(.*)\}\n\s*Annotations:\{(.*)\}/g)].map((m) => ({
      labels: pairs(m[1]),
      annotations: pairs(m[2]),
    }));
    for (const exp of rt.get('exp_alerts').items) {
      if (exp.get('exp_annotations')) continue;
      const want = exp.get('exp_labels')?.toJSON() ?? {};
      const match = gotAlerts.find(
        (g) =>
          Object.entries(g.labels).every(([k, v]) => k === 'alertname' || String(want[k]) === v) &&
          Object.keys(want).length === Object.keys(g.labels).length - 1,
      );
      if (!match) continue;
      exp.set('exp_annotations', doc.createNode(match.annotations));
      filled++;
    }
  }
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  process.stdout.write(`${file}: filled ${filled}\n`);
}
