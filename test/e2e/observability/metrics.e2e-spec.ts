import request from 'supertest';
import { ORDER_STATUSES } from '../../../src/contracts/order-status.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = line.slice(name.length).replace(/ [^ ]+$/, '');
    if (wanted.every((w) => body.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('GET /metrics (docs/architecture.md §10)', () => {
  let t: TestApp;
  const scrape = () => request(t.url).get('/metrics');

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience', 'system'], groups: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the Prometheus text format without a token, outside /api', async () => {
    const res = await scrape().expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE order_flow_process_cpu_user_seconds_total counter');
    expect(res.text).toContain('# TYPE order_flow_nodejs_eventloop_active_seconds_total counter');
    expect(res.text).toContain('# TYPE order_flow_dlq_messages_total counter');
    expect(res.text).toContain('# TYPE order_flow_saga_retries_total counter');
    expect(res.text).not.toMatch(/^order_flow_metrics_collect_errors_total/m);
    await request(t.url).get('/api/metrics').expect(404);
  });

  it('times HTTP requests by method, route pattern and status', async () => {
    await t.get('/api/orders/00000000-0000-4000-8000-000000000000').expect(404);
    await request(t.url).get('/api/orders/00000000-0000-4000-8000-000000000001').expect(401);
    await request(t.url).get('/no/such/route/42').expect(404);
    const { text } = await scrape().expect(200);
    expect(text).toContain('# TYPE order_flow_http_request_duration_seconds histogram');
    const route = '/api/orders/:orderId';
    expect(sample(text, 'order_flow_http_request_duration_seconds_count', { method: 'GET', route, status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'order_flow_http_request_duration_seconds_count', { method: 'GET', route, status_code: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'order_flow_http_request_duration_seconds_bucket', { method: 'GET', route, status_code: '404', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'order_flow_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    // The raw URL never becomes a label: one series per route, not per order.
    expect(text).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(text).not.toContain('/no/such/route');
  });

  it('reads orders by status, the outbox backlog and waiting saga steps at scrape time', async () => {
    const before = sample((await scrape().expect(200)).text, 'order_flow_orders', { status: 'RECEIVED' }) ?? 0;
    await t.post('/api/orders', validOrderBody()).expect(202);
    const { text } = await scrape().expect(200);
    expect(sample(text, 'order_flow_orders', { status: 'RECEIVED' })).toBe(before + 1);
    expect(sample(text, 'order_flow_outbox_backlog_messages', {})).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE order_flow_saga_steps_waiting gauge');
    expect(text).toContain('# TYPE order_flow_kafka_consumer_lag gauge');
    expect(sample(text, 'order_flow_http_request_duration_seconds_count', { method: 'POST', route: '/api/orders', status_code: '202' })).toBeGreaterThanOrEqual(1);
  });

  it('moves an order that reaches a terminal status to that status, and gives every status a series', async () => {
    const { body } = await t.post('/api/orders', validOrderBody()).expect(202);
    const before = (await scrape().expect(200)).text;
    // The saga's guarded transition, as it writes it: the status and its history row in one transaction.
    await t.dataSource.transaction(async (tx) => {
      await tx.query(`UPDATE orders SET status = 'SHIPPED', version = version + 1, updated_at = NOW(3) WHERE id = ? AND status = 'RECEIVED'`, [body.orderId]);
      await tx.query(`INSERT INTO order_status_history (order_id, from_status, to_status, occurred_at) VALUES (?, 'RECEIVED', 'SHIPPED', NOW(3))`, [body.orderId]);
    });
    const after = (await scrape().expect(200)).text;
    expect(sample(after, 'order_flow_orders', { status: 'SHIPPED' })).toBe(sample(before, 'order_flow_orders', { status: 'SHIPPED' })! + 1);
    expect(sample(after, 'order_flow_orders', { status: 'RECEIVED' })).toBe(sample(before, 'order_flow_orders', { status: 'RECEIVED' })! - 1);
    for (const status of ORDER_STATUSES) expect(sample(after, 'order_flow_orders', { status })).toBeGreaterThanOrEqual(0);
  });
});
