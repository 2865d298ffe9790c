#!/usr/bin/env node
// Writes docker/k8s/monitoring/prometheus-rule.yaml from docker/prometheus/alerts.rules.yml, the one
// source of the alert rules (test/unit/ops/alert-rules.spec.ts fails when the two differ):
//   node scripts/prometheus-rule.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, load } from 'js-yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RULES_FILE = path.join(ROOT, 'docker/prometheus/alerts.rules.yml');
export const PROMETHEUS_RULE_FILE = path.join(ROOT, 'docker/k8s/monitoring/prometheus-rule.yaml');

/** The PrometheusRule resource carrying the rules file's groups unchanged. */
export function prometheusRuleText(rulesText) {
  const { groups } = load(rulesText);
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'order-flow', labels: { 'app.kubernetes.io/name': 'order-flow' } },
    spec: { groups },
  };
  const header = '# Generated from docker/prometheus/alerts.rules.yml by `node scripts/prometheus-rule.mjs`: edit that file, not this one.\n';
  return header + dump(resource, { lineWidth: -1, noRefs: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleText(fs.readFileSync(RULES_FILE, 'utf8')));
  console.log(`wrote ${path.relative(ROOT, PROMETHEUS_RULE_FILE)}`);
}
