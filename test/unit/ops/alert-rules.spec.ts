import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { prometheusRuleText } from '../../../scripts/prometheus-rule.mjs';
import { AGREED_METRICS, EARLIER_METRICS, metricFamilies } from '../../support/agreed-metrics.js';
import { describeWithBinary } from '../../support/system-binaries.js';

const RULES_FILE = 'docker/prometheus/alerts.rules.yml';
const TESTS_FILE = 'docker/prometheus/alerts.test.yml';
const PROMETHEUS_RULE_FILE = 'docker/k8s/monitoring/prometheus-rule.yaml';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertCase {
  alertname: string;
  exp_alerts?: unknown[];
}

const rulesText = readFileSync(RULES_FILE, 'utf8');
const groups = (load(rulesText) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
const alertCases = (load(readFileSync(TESTS_FILE, 'utf8')) as { tests: Array<{ alert_rule_test?: AlertCase[] }> }).tests.flatMap((t) => t.alert_rule_test ?? []);

/** The alerts of issue 21 §4, in its order. */
const REQUIRED_ALERTS = [
  'OrderFlowConsumerLagGrowing',
  'OrderFlowOutboxStalled',
  'OrderFlowDeadLetters',
  'OrderFlowHttp5xxRatioHigh',
  'OrderFlowPostOrdersLatencyHigh',
  'OrderFlowOrdersOverdue',
  'OrderFlowConsumerGroupDown',
];

function run(binary: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 60000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('alert rules (docker/prometheus/alerts.rules.yml)', () => {
  it('are the alerts of issue 21: lag, outbox age, DLQ, 5xx ratio, POST p99, overdue orders, a group down', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([...REQUIRED_ALERTS].sort());
  });

  it.each(REQUIRED_ALERTS)('%s waits before firing and carries a severity, a summary, a description and a runbook hint', (name) => {
    const alert = alerts.find((a) => a.alert === name)!;
    expect(alert.for).toMatch(/^[1-9]\d*[mh]$/);
    expect(['warning', 'critical']).toContain(alert.labels?.severity);
    for (const key of ['summary', 'description', 'runbook']) expect(alert.annotations?.[key]?.length ?? 0).toBeGreaterThan(30);
  });

  it('name only the agreed metrics, and no job (they work under any scrape job)', () => {
    const known = new Set<string>([...AGREED_METRICS, ...EARLIER_METRICS]);
    const named = alerts.flatMap((a) => metricFamilies(a.expr));
    expect(named.filter((n) => !known.has(n))).toEqual([]);
    expect(alerts.filter((a) => /job\s*=/.test(a.expr)).map((a) => a.alert)).toEqual([]);
  });

  it('leave probes and /metrics out of the HTTP ratios', () => {
    const http = alerts.find((a) => a.alert === 'OrderFlowHttp5xxRatioHigh')!;
    expect(http.expr.match(/route!~"\/health\.\*\|\/metrics"/g)).toHaveLength(2);
  });

  it('each have a case where they fire and one where they stay quiet in alerts.test.yml', () => {
    const firing = new Set(alertCases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const quiet = new Set(alertCases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    expect(REQUIRED_ALERTS.filter((a) => !firing.has(a) || !quiet.has(a))).toEqual([]);
  });

  it('are exactly the groups of the PrometheusRule (`node scripts/prometheus-rule.mjs` regenerates it)', () => {
    const committed = readFileSync(PROMETHEUS_RULE_FILE, 'utf8');
    expect(committed).toBe(prometheusRuleText(rulesText));
    expect((load(committed) as { spec: { groups: unknown } }).spec.groups).toEqual(groups);
  });
});

describeWithBinary('promtool', "promtool (Debian's prometheus package) on the alert rules", (promtool) => {
  it('check rules: the rules file is valid', () => {
    expect(run(promtool, ['check', 'rules', RULES_FILE])).toMatchObject({ status: 0, output: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
  });

  it('test rules: every alert fires in its firing cases and stays quiet in the others', () => {
    expect(run(promtool, ['test', 'rules', TESTS_FILE])).toMatchObject({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});
