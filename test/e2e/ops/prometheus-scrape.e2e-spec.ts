import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dump } from 'js-yaml';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { describeWithBinary } from '../../support/system-binaries.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

const RULES_FILE = path.resolve('docker/prometheus/alerts.rules.yml');

interface QueryResult {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** A Prometheus of our own: a throw-away config and data dir, on a free loopback port, stopped by its pid. */
class TestPrometheus {
  private process: ChildProcess | null = null;
  private output = '';
  readonly dir = mkdtempSync(path.join(tmpdir(), 'order-flow-prometheus-'));
  url = '';

  async start(binary: string, target: string): Promise<void> {
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [RULES_FILE],
      scrape_configs: [{ job_name: 'order-flow', metrics_path: '/metrics', static_configs: [{ targets: [target] }] }],
    };
    writeFileSync(path.join(this.dir, 'prometheus.yml'), dump(config));
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const args = [`--config.file=${path.join(this.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`];
    this.process = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout!.on('data', (chunk) => (this.output += chunk));
    this.process.stderr!.on('data', (chunk) => (this.output += chunk));
    await eventually(() => fetch(`${this.url}/-/ready`).then((r) => r.ok), Boolean, { timeoutMs: 30000, what: `Prometheus ready on ${this.url} (${this.output.slice(-500)})` });
  }

  async query(promql: string): Promise<QueryResult['data']['result']> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as QueryResult;
    if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  async api<T>(endpoint: string): Promise<T> {
    return ((await (await fetch(`${this.url}/api/v1/${endpoint}`)).json()) as { data: T }).data;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describeWithBinary('prometheus', "a real Prometheus (Debian's package) scraping the running service", (binary) => {
  let t: TestApp;
  const prometheus = new TestPrometheus();

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience', 'system'], groups: [] });
    await t.post('/api/orders', validOrderBody()).expect(202);
    await prometheus.start(binary, new URL(t.url).host);
  });
  afterAll(async () => {
    await prometheus.stop();
    await t?.close();
  });

  it('scrapes the service: its target is up', async () => {
    const targets = await eventually(
      () => prometheus.api<{ activeTargets: Array<{ health: string; labels: Record<string, string> }> }>('targets'),
      (d) => d.activeTargets.some((a) => a.labels.job === 'order-flow' && a.health === 'up'),
      { timeoutMs: 30000, what: 'the order-flow target up' },
    );
    expect(targets.activeTargets).toHaveLength(1);
  });

  it('answers a query for the order just accepted (POST /api/orders count, orders by status)', async () => {
    const posts = await eventually(
      () => prometheus.query('order_flow_http_request_duration_seconds_count{job="order-flow", method="POST", route="/api/orders", status_code="202"}'),
      (r) => r.length === 1,
      { timeoutMs: 30000, what: 'the POST /api/orders series in Prometheus' },
    );
    expect(Number(posts[0].value[1])).toBeGreaterThanOrEqual(1);
    const received = await eventually(
      () => prometheus.query('order_flow_orders{job="order-flow", status="RECEIVED"}'),
      (r) => r.length === 1,
      {
        timeoutMs: 30000,
        what: 'order_flow_orders{status="RECEIVED"} in Prometheus',
      },
    );
    expect(Number(received[0].value[1])).toBeGreaterThanOrEqual(1);
  });

  it('loads and evaluates the alert rules, none of them failing', async () => {
    const rules = await eventually(
      () => prometheus.api<{ groups: Array<{ rules: Array<{ name: string; health: string; type: string }> }> }>('rules'),
      (d) => d.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok'),
      { timeoutMs: 30000, what: 'every rule evaluated with health ok' },
    );
    const alerting = rules.groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
    expect(alerting.map((r) => r.name).sort()).toEqual(
      [
        'OrderFlowConsumerGroupDown',
        'OrderFlowConsumerLagGrowing',
        'OrderFlowDeadLetters',
        'OrderFlowHttp5xxRatioHigh',
        'OrderFlowOrdersOverdue',
        'OrderFlowOutboxStalled',
        'OrderFlowPostOrdersLatencyHigh',
      ].sort(),
    );
  });
});
