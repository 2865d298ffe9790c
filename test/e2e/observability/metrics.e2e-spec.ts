import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { TERMINAL_STATUSES } from '../../../src/contracts/order-status.js';
import { IN_FLIGHT_STATUSES } from '../../../src/platform/observability/metrics.order-counts.js';
import { sample } from '../../support/metrics-text.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

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
    expect(res.text).toContain('# TYPE order_flow_nodejs_eventloop_active_seconds_total counter');
    expect(res.text).toContain('# TYPE order_flow_dlq_messages_total counter');
    expect(res.text).toContain('# TYPE order_flow_saga_retries_total counter');
    expect(res.text).not.toMatch(/^order_flow_metrics_collect_errors_total/m);
    await request(t.url).get('/api/metrics').expect(404);
  });

  it("serves prom-client's process and Node metrics under their standard names, without the service's prefix", async () => {
    const { text } = await scrape().expect(200);
    for (const [name, type] of [
      ['process_cpu_seconds_total', 'counter'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
    expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
    // prom-client's defaults would carry the prefix (order_flow_nodejs_heap_size_used_bytes …); the
    // service's own order_flow_nodejs_heap_after_gc_bytes is not one of them.
    expect(text).not.toMatch(/^order_flow_(process_|nodejs_heap_size_|nodejs_heap_space_|nodejs_eventloop_lag)/m);
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

  /** Places an order (it stays RECEIVED: this app runs no consumer) and moves it to `status` as the saga would. */
  async function orderIn(status: string): Promise<string> {
    const { body } = await t.post('/api/orders', validOrderBody()).expect(202);
    if (status !== 'RECEIVED') {
      await t.dataSource.transaction(async (tx) => {
        await tx.query(`UPDATE orders SET status = ?, version = version + 1, updated_at = NOW(3) WHERE id = ? AND status = 'RECEIVED'`, [status, body.orderId]);
        await tx.query(`INSERT INTO order_status_history (order_id, from_status, to_status, occurred_at) VALUES (?, 'RECEIVED', ?, NOW(3))`, [body.orderId, status]);
      });
    }
    return body.orderId as string;
  }

  it('counts the orders of each in-flight status, and leaves terminal statuses to the saga counters', async () => {
    const before = (await scrape().expect(200)).text;
    for (const status of ['RECEIVED', 'INVENTORY_CHECK_STARTED', 'SHIPPING_REQUESTED', 'SHIPPING_REQUESTED', 'SHIPPED']) await orderIn(status);
    const after = (await scrape().expect(200)).text;
    const delta = (status: string) => sample(after, 'order_flow_orders', { status })! - sample(before, 'order_flow_orders', { status })!;
    expect(delta('RECEIVED')).toBe(1);
    expect(delta('INVENTORY_CHECK_STARTED')).toBe(1);
    expect(delta('SHIPPING_REQUESTED')).toBe(2);
    expect(delta('INVENTORY_CONFIRMED')).toBe(0);
    expect(delta('PAYMENT_COMPLETED')).toBe(0);
    for (const status of IN_FLIGHT_STATUSES) expect(sample(after, 'order_flow_orders', { status })).toBeGreaterThanOrEqual(0);
    for (const status of TERMINAL_STATUSES) expect(sample(after, 'order_flow_orders', { status })).toBeUndefined();
    expect(after).toContain('# TYPE order_flow_orders_finished_total counter');
  });

  it('counts in-flight orders whose saga step is past its deadline, not the compensations of failed orders', async () => {
    const late = await orderIn('INVENTORY_CHECK_STARTED');
    const onTime = await orderIn('INVENTORY_CHECK_STARTED');
    const failed = await orderIn('INVENTORY_FAILED');
    const step = (orderId: string, step: string, dueInS: number) =>
      t.dataSource.query(
        `INSERT INTO saga_steps (order_id, step, state, attempt, due_at, sent_at, correlation_id, command_event_id)
         VALUES (?, ?, 'WAITING', 1, UTC_TIMESTAMP(3) + INTERVAL ? SECOND, UTC_TIMESTAMP(3), 'metrics-e2e', ?)`,
        [orderId, step, dueInS, randomUUID()],
      );
    const overdue = async () => sample((await scrape().expect(200)).text, 'order_flow_orders_overdue', {})!;
    const before = await overdue();
    try {
      await step(late, 'inventory', -60);
      await step(onTime, 'inventory', 600);
      await step(failed, 'release', -60);
      expect((await overdue()) - before).toBe(1);
    } finally {
      // No later suite's scheduler may act on these hand-made steps.
      await t.dataSource.query('DELETE FROM saga_steps WHERE order_id IN (?, ?, ?)', [late, onTime, failed]);
    }
    expect(await overdue()).toBe(before);
  });

  it('reports how long the oldest due message has waited in the outbox', async () => {
    // A shard beyond OUTBOX_SHARDS that no order uses, leased to no relay of this process: its row stays put.
    const shard = 255;
    const age = async () => sample((await scrape().expect(200)).text, 'order_flow_outbox_oldest_unpublished_age_seconds', {})!;
    expect(await age()).toBeLessThan(60);
    await t.dataSource.query(`UPDATE outbox_shards SET lease_owner = 'metrics-e2e', lease_until = UTC_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE shard = ?`, [shard]);
    const eventId = randomUUID();
    try {
      await t.dataSource.query(
        `INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, available_at)
         VALUES (?, 'order-status', ?, ?, 'OrderStatusChanged', '{}', '{}', UTC_TIMESTAMP(3) - INTERVAL 90 SECOND)`,
        [shard, randomUUID(), eventId],
      );
      expect(await age()).toBeGreaterThanOrEqual(90);
      expect(await age()).toBeLessThan(600);
    } finally {
      await t.dataSource.query('DELETE FROM outbox WHERE event_id = ?', [eventId]);
      await t.dataSource.query('UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL WHERE shard = ?', [shard]);
    }
    expect(await age()).toBeLessThan(60);
  });
});
