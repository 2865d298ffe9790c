import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dump } from 'js-yaml';
import { AGREED_METRICS, EARLIER_METRICS, metricFamilies } from '../../support/agreed-metrics.js';
import { describeWithBinary } from '../../support/system-binaries.js';

interface Target {
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  title: string;
  type: string;
  datasource?: { uid?: string };
  targets?: Target[];
}

const dashboard = JSON.parse(readFileSync('docker/grafana/dashboards/order-flow.json', 'utf8'));
const panels: Panel[] = dashboard.panels.filter((p: Panel) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const PROBES_LEFT_OUT = 'route!~"/health.*|/metrics"';

/** A dashboard expression as Prometheus sees it once Grafana filled in its variables. */
function asPrometheusQuery(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$job', '.+');
}

describe('Grafana dashboard (docker/grafana/dashboards/order-flow.json)', () => {
  it('has a data source variable and a job variable read from the service metrics', () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v: any) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.job).toMatchObject({ type: 'query', datasource: { uid: '${datasource}' }, includeAll: true, multi: true });
    expect(vars.job.definition).toMatch(/^label_values\(order_flow_[a-z_]+, job\)$/);
  });

  it('hard-codes no data source: every panel and query uses ${datasource}', () => {
    const uids = [...panels.map((p) => p.datasource?.uid), ...targets.map((t) => t.datasource?.uid)];
    expect(new Set(uids)).toEqual(new Set(['${datasource}']));
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"prometheus"|__inputs|DS_PROMETHEUS/);
  });

  it('hard-codes no job: every query selects job=~"$job" in each of its selectors', () => {
    expect(targets.length).toBeGreaterThan(25);
    const selectors = targets.flatMap((t) => [...t.expr.matchAll(/\b[a-z_:]+\{([^}]*)\}/g)].map((m) => ({ panel: t.panel, labels: m[1] })));
    expect(selectors.filter((s) => !s.labels.includes('job=~"$job"'))).toEqual([]);
  });

  it('leaves probes and /metrics out of every HTTP latency and ratio panel', () => {
    const http = targets.filter((t) => t.expr.includes('order_flow_http_request_duration_seconds') && !t.expr.includes('route="/api/orders"'));
    expect(http.length).toBeGreaterThanOrEqual(5);
    expect(http.filter((t) => t.expr.split(PROBES_LEFT_OUT).length - 1 !== t.expr.split('order_flow_http_request_duration_seconds').length - 1)).toEqual([]);
  });

  it('shows every agreed metric, and names no other order_flow_ metric', () => {
    const shown = new Set(targets.flatMap((t) => metricFamilies(t.expr)));
    expect(AGREED_METRICS.filter((m) => !shown.has(m))).toEqual([]);
    const known = new Set<string>([...AGREED_METRICS, ...EARLIER_METRICS]);
    expect([...shown].filter((m) => !known.has(m))).toEqual([]);
  });

  it('uses the standard, unprefixed process and Node.js metrics', () => {
    const exprs = targets.map((t) => t.expr).join('\n');
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(exprs).toMatch(new RegExp(`(^|[^_a-z])${name}\\{`, 'm'));
    }
    expect(exprs).not.toMatch(/order_flow_process_|order_flow_nodejs_(?!eventloop_active)/);
  });

  it('gives every panel a unique id and a place on the grid', () => {
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  });
});

describeWithBinary('promtool', 'Grafana dashboard queries (promtool)', (promtool) => {
  it('are valid PromQL once the variables are filled in', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'order-flow-dashboard-'));
    try {
      const rules = targets.map((t, i) => ({ record: `dashboard:query_${i}`, expr: asPrometheusQuery(t.expr) }));
      const file = path.join(dir, 'dashboard-queries.yml');
      writeFileSync(file, dump({ groups: [{ name: 'dashboard', rules }] }));
      const result = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({ status: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
